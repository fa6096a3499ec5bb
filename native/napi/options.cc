#include "options.h"

#include <cmath>
#include <cstring>

namespace zbpf::options {

std::string String(const Napi::Object& options, const char* key, const std::string& fallback) {
  Napi::Value value = options.Get(key);
  return value.IsString() ? value.As<Napi::String>().Utf8Value() : fallback;
}

double Number(const Napi::Object& options, const char* key, double fallback) {
  Napi::Value value = options.Get(key);
  return value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : fallback;
}

bool WholeNumber(const Napi::Value& value, double max, double* out) {
  if (!value.IsNumber()) return false;
  const double number = value.As<Napi::Number>().DoubleValue();
  // Written so that NaN fails every comparison and is rejected.
  if (!(number >= 0 && number <= max) || std::floor(number) != number) return false;
  *out = number;
  return true;
}

bool Bool(const Napi::Object& options, const char* key, bool fallback) {
  Napi::Value value = options.Get(key);
  return value.IsBoolean() ? value.As<Napi::Boolean>().Value() : fallback;
}

std::vector<freebsd::Insn> Program(const Napi::Value& packed) {
  std::vector<freebsd::Insn> program;
  if (!packed.IsTypedArray()) return program;
  Napi::Uint8Array bytes = packed.As<Napi::Uint8Array>();
  program.resize(bytes.ByteLength() / sizeof(freebsd::Insn));
  std::memcpy(program.data(), bytes.Data(), program.size() * sizeof(freebsd::Insn));
  return program;
}

}  // namespace zbpf::options
