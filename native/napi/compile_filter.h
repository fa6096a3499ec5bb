// compileFilter(expression, linkType, snaplen) -> ArrayBuffer of 8-byte instructions; throws
// an Error with code ERR_ZBPF_NO_LIBPCAP or ERR_ZBPF_BAD_FILTER and libpcap's own message.
#pragma once

#include <napi.h>

namespace zbpf {

Napi::Value CompileFilter(const Napi::CallbackInfo& info);

}  // namespace zbpf
