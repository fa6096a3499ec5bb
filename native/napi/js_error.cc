#include "js_error.h"

#include <uv.h>

#include <cstring>

namespace zbpf {

Napi::Error ToJsError(Napi::Env env, const Status& status) {
  std::string message = status.syscall + ": " + std::strerror(status.err);
  if (!status.hint.empty()) message += " (" + status.hint + ")";
  Napi::Error error = Napi::Error::New(env, message);
  Napi::Object object = error.Value();
  // libuv names errno values portably (uv_err_name takes the negated errno on unix).
  object.Set("code", Napi::String::New(env, uv_err_name(-status.err)));
  object.Set("errno", Napi::Number::New(env, status.err));
  object.Set("syscall", Napi::String::New(env, status.syscall));
  object.Set("hint", Napi::String::New(env, status.hint));
  return error;
}

bool ThrowIfFailed(Napi::Env env, const Status& status) {
  if (status.ok()) return true;
  ToJsError(env, status).ThrowAsJavaScriptException();
  return false;
}

void ThrowClosed(Napi::Env env) {
  Napi::Error error = Napi::Error::New(env, "capture is closed");
  error.Set("code", Napi::String::New(env, "ERR_ZBPF_CLOSED"));
  error.Set("hint", Napi::String::New(env, "open a new capture with openCapture()"));
  error.ThrowAsJavaScriptException();
}

}  // namespace zbpf
