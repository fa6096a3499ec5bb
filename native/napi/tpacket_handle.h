// JS face of a TpacketRing: lends ring blocks as ArrayBuffers (detached when given back),
// lends each block's tpacket_hdr_v1 for the Atomics ownership check, reports readiness, and
// exposes the few socket options lib/providers/tpacket.ts needs (never a call per packet).
#pragma once

#include <napi.h>

#include <memory>
#include <vector>

#include "../linux/tpacket_ring.h"
#include "addon.h"
#include "js_readiness.h"
#include "lent_view.h"

namespace zbpf {

class TpacketHandle : public Napi::ObjectWrap<TpacketHandle>, public Closable {
 public:
  static Napi::Function Define(Napi::Env env);

  explicit TpacketHandle(const Napi::CallbackInfo& info);
  ~TpacketHandle() override;

  void CloseForTeardown() override { Release(); }

 private:
  Napi::Value BlockSize(const Napi::CallbackInfo& info);
  Napi::Value BlockCount(const Napi::CallbackInfo& info);
  Napi::Value LinkType(const Napi::CallbackInfo& info);
  Napi::Value Headers(const Napi::CallbackInfo& info);
  Napi::Value Lend(const Napi::CallbackInfo& info);
  void Revoke(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Attached(const Napi::CallbackInfo& info);
  void SetFilter(const Napi::CallbackInfo& info);
  void Watch(const Napi::CallbackInfo& info);
  void Shutdown(const Napi::CallbackInfo& info);
  void Quiesce(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);

  bool CheckOpen(Napi::Env env);
  bool CheckCapturing(Napi::Env env);
  int CheckedBlockIndex(const Napi::CallbackInfo& info);
  void Release();

  std::unique_ptr<TpacketRing> ring_;
  JsReadiness readiness_;
  bool capturing_ = false;  // false after shutdown(): the socket is inert, the ring still readable
  std::vector<LentView> headers_;
  std::vector<LentView> blocks_;
};

}  // namespace zbpf
