// Readiness of a capture's descriptor, reported to a JS callback on the event loop of the
// environment that owns the capture (main thread or worker): callback(null) when readable,
// callback(error) when polling failed.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>

#include "../core/readiness.h"
#include "../core/status.h"

namespace zbpf {

class JsReadiness {
 public:
  // Turns a failed poll (a negative libuv status) into the error the callback receives.
  using Diagnose = std::function<Status(int uv_status)>;

  // False, with a JS exception pending, if the environment has no event loop.
  bool Bind(Napi::Env env, int fd, Napi::Function callback, const char* resource_name, Diagnose diagnose);
  Status Watch(bool on);
  // Stops polling and drops the callback; must run before the descriptor is closed.
  void Close();

 private:
  void OnReadiness(int status);

  std::unique_ptr<ReadinessWatcher> watcher_;
  Napi::FunctionReference callback_;
  // Kept past Close(): Close may run inside OnReadiness's MakeCallback.
  std::unique_ptr<Napi::AsyncContext> context_;
  Diagnose diagnose_;
};

}  // namespace zbpf
