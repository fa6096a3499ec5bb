// The FreeBSD BPF layout as this build of the addon sees it, for test/abi.test.ts to compare
// with the offsets lib/protocol/*.ts hard-codes.
#pragma once

#include <napi.h>

namespace zbpf {

// On FreeBSD the values come from <net/bpf.h> itself; elsewhere from the mirror in
// native/abi/freebsd_bpf.h (which a FreeBSD build checks against <net/bpf.h> with static_assert).
Napi::Object AbiInfo(Napi::Env env);

}  // namespace zbpf
