// Per-environment addon state (context-aware: the main thread and every worker get their own).
// Every open capture registers here, so a worker that exits releases its descriptors and
// mappings even if JS never called close().
#pragma once

#include <napi.h>

#include <unordered_set>

namespace zbpf {

class Closable {
 public:
  virtual ~Closable() = default;
  virtual void CloseForTeardown() = 0;
};

class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env env, Napi::Object exports);

  static Addon& Of(Napi::Env env) { return *env.GetInstanceData<Addon>(); }

  void Track(Closable* capture) { open_.insert(capture); }
  void Untrack(Closable* capture) { open_.erase(capture); }

 private:
  void CloseAll();

  std::unordered_set<Closable*> open_;
};

}  // namespace zbpf
