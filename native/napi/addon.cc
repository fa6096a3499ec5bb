#include "addon.h"

#include <vector>

#include "abi_info.h"
#include "bpf_handle.h"
#if defined(__linux__)
#include "tpacket_handle.h"
#endif
#include "compile_filter.h"

namespace zbpf {

Addon::Addon(Napi::Env env, Napi::Object exports) {
  exports.Set("BpfHandle", BpfHandle::Define(env));
#if defined(__linux__)
  exports.Set("TpacketHandle", TpacketHandle::Define(env));
#endif
  exports.Set("compileFilter", Napi::Function::New<CompileFilter>(env, "compileFilter"));
  exports.Set("abi", AbiInfo(env));
  exports.Set("platform", Napi::String::New(env,
#if defined(__FreeBSD__)
                                            "freebsd"
#else
                                            "linux"
#endif
                                            ));
  env.AddCleanupHook([this] { CloseAll(); });
}

void Addon::CloseAll() {
  // Copy first: closing a capture untracks it.
  std::vector<Closable*> open(open_.begin(), open_.end());
  for (Closable* capture : open) capture->CloseForTeardown();
}

NODE_API_NAMED_ADDON(zbpf, Addon)

}  // namespace zbpf
