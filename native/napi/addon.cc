#include "addon.h"

#include <dlfcn.h>

#include <mutex>
#include <vector>

#include "abi_info.h"
#include "bpf_handle.h"
#if defined(__linux__)
#include "tpacket_handle.h"
#endif
#include "compile_filter.h"

namespace zbpf {

namespace {

// Node unloads an addon when the last worker that loaded it exits, but libuv still calls
// back into it afterwards (the close callbacks of our uv_poll handles): keep the library
// loaded for the life of the process.
void KeepLoaded() {
  static std::once_flag once;
  std::call_once(once, [] {
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&KeepLoaded), &info) == 0 || info.dli_fname == nullptr) return;
    dlopen(info.dli_fname, RTLD_NOW | RTLD_NODELETE);  // never closed, by design
  });
}

}  // namespace

Addon::Addon(Napi::Env env, Napi::Object exports) {
  KeepLoaded();
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
