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

}  // namespace zbpf
