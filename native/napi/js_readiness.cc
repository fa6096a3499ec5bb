#include "js_readiness.h"

#include "js_error.h"

namespace zbpf {

bool JsReadiness::Bind(Napi::Env env, int fd, Napi::Function callback, const char* resource_name, Diagnose diagnose) {
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
    Napi::Error::New(env, "zbpf: no event loop for this environment").ThrowAsJavaScriptException();
    return false;
  }
  watcher_ = std::make_unique<ReadinessWatcher>(loop, fd, [this](int status) { OnReadiness(status); });
  callback_ = Napi::Persistent(callback);
  context_ = std::make_unique<Napi::AsyncContext>(env, resource_name);
  diagnose_ = std::move(diagnose);
  return true;
}

Status JsReadiness::Watch(bool on) {
  if (!watcher_) return Status::Fail(EBADF, "uv_poll_start", "capture is closed");
  if (!on) {
    watcher_->Stop();
    return Status::Ok();
  }
  return watcher_->Start();
}

void JsReadiness::Close() {
  if (watcher_) watcher_->Close();
  watcher_.reset();
  callback_.Reset();
}

void JsReadiness::OnReadiness(int status) {
  if (callback_.IsEmpty()) return;
  Napi::Env env = callback_.Env();
  Napi::HandleScope scope(env);
  Napi::Value arg = status == 0 ? env.Null() : ToJsError(env, diagnose_(status)).Value();
  // A local handle keeps the callback alive through the call, which may close the capture.
  Napi::Function callback = callback_.Value();
  callback.MakeCallback(env.Global(), {arg}, *context_);  // napi_make_callback needs an object receiver
  if (!env.IsExceptionPending()) return;
  // Nothing up the stack would ever see this exception (we return to libuv): hand it to the
  // callback as the capture's error, and if that throws too, to process 'uncaughtException'.
  Napi::Value thrown = env.GetAndClearPendingException().Value();
  callback.MakeCallback(env.Global(), {thrown}, *context_);
  if (env.IsExceptionPending()) napi_fatal_exception(env, env.GetAndClearPendingException().Value());
}

}  // namespace zbpf
