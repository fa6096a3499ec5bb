#include "addon.h"

#include <vector>

#include "bpf_handle.h"

namespace zbpf {

Addon::Addon(Napi::Env env, Napi::Object exports) {
  exports.Set("BpfHandle", BpfHandle::Define(env));
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
