// Reading the options object that lib/ validated and normalised; native code only checks types.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

#include "../abi/freebsd_bpf.h"

namespace zbpf::options {

std::string String(const Napi::Object& options, const char* key, const std::string& fallback = {});
double Number(const Napi::Object& options, const char* key, double fallback = 0);
// A whole number in [0, max]; false for anything else (NaN, infinities, fractions, other types).
bool WholeNumber(const Napi::Value& value, double max, double* out);
bool Bool(const Napi::Object& options, const char* key, bool fallback = false);
// A classic-BPF program packed as 8-byte instructions (struct bpf_insn / sock_filter layout).
std::vector<freebsd::Insn> Program(const Napi::Value& packed);

}  // namespace zbpf::options
