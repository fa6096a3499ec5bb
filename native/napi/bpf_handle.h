// JS face of a BpfDevice: lends the buffers as ArrayBuffers, reports readiness, and exposes the
// few ioctls the protocol in lib/providers/bpf.ts needs (at most a call or two per buffer).
#pragma once

#include <napi.h>

#include <memory>

#include "../bsd/bpf_device.h"
#include "addon.h"
#include "js_readiness.h"
#include "lent_view.h"

namespace zbpf {

class BpfHandle : public Napi::ObjectWrap<BpfHandle>, public Closable {
 public:
  static Napi::Function Define(Napi::Env env);

  explicit BpfHandle(const Napi::CallbackInfo& info);
  ~BpfHandle() override;

  void CloseForTeardown() override { Release(); }

 private:
  Napi::Value Mode(const Napi::CallbackInfo& info);
  Napi::Value FallbackReason(const Napi::CallbackInfo& info);
  Napi::Value BufferLength(const Napi::CallbackInfo& info);
  Napi::Value LinkType(const Napi::CallbackInfo& info);
  Napi::Value Headers(const Napi::CallbackInfo& info);
  Napi::Value Lend(const Napi::CallbackInfo& info);
  void Revoke(const Napi::CallbackInfo& info);
  Napi::Value Rotate(const Napi::CallbackInfo& info);
  Napi::Value Pending(const Napi::CallbackInfo& info);
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Attached(const Napi::CallbackInfo& info);
  void SetFilter(const Napi::CallbackInfo& info);
  void Watch(const Napi::CallbackInfo& info);
  void Shutdown(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);

  bool CheckOpen(Napi::Env env);
  bool CheckDescriptor(Napi::Env env);
  int CheckedSlot(const Napi::CallbackInfo& info);
  Status CloseDescriptor();
  Status Release();

  std::unique_ptr<BpfDevice> device_;
  JsReadiness readiness_;
  LentView headers_[2];
  // Slot i < 2: buffer i as handed over; slot 2 + i: the complete prefix of buffer i while it
  // is still the kernel's store buffer. Both can be out at close.
  LentView data_[4];
};

}  // namespace zbpf
