#include "compile_filter.h"

#include <cstring>

#include "../filter/pcap_compiler.h"

namespace zbpf {

namespace {

// lib/filter/compile.ts adds the expression and the hint: it knows what the user typed.
Napi::Value Throw(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  error.ThrowAsJavaScriptException();
  return env.Undefined();
}

}  // namespace

Napi::Value CompileFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsNumber() || !info[2].IsNumber()) {
    Napi::TypeError::New(env, "compileFilter(expression, linkType, snaplen)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  PcapCompileResult result = CompilePcapFilter(info[0].As<Napi::String>().Utf8Value(),
                                               info[1].As<Napi::Number>().Int32Value(),
                                               info[2].As<Napi::Number>().Int32Value());
  using Outcome = PcapCompileResult::Outcome;
  if (result.outcome == Outcome::kNoLibrary) return Throw(env, "ERR_ZBPF_NO_LIBPCAP", result.message);
  if (result.outcome == Outcome::kBadExpression) return Throw(env, "ERR_ZBPF_BAD_FILTER", result.message);
  std::size_t bytes = result.program.size() * sizeof(freebsd::Insn);
  Napi::ArrayBuffer packed = Napi::ArrayBuffer::New(env, bytes);
  std::memcpy(packed.Data(), result.program.data(), bytes);
  return packed;
}

}  // namespace zbpf
