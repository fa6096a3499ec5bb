// One place where a native Status becomes a JS Error with code, errno, syscall and hint.
#pragma once

#include <napi.h>

#include "../core/status.h"

namespace zbpf {

Napi::Error ToJsError(Napi::Env env, const Status& status);

// Throws the status as a JS exception if it failed; returns whether it succeeded.
bool ThrowIfFailed(Napi::Env env, const Status& status);

// Any use of a capture after close(): a JS error, never a crash.
void ThrowClosed(Napi::Env env);

}  // namespace zbpf
