#include "pcap_compiler.h"

#include <dlfcn.h>

#include <cstdint>
#include <cstdlib>
#include <mutex>

namespace zbpf {

namespace {

// The few libpcap entry points we call, declared here so no pcap.h is needed to build. Their
// ABI has been stable since libpcap 0.8; struct bpf_program is {u_int len; bpf_insn* insns}.
struct PcapHandle;  // pcap_t, opaque
using OpenDead = PcapHandle* (*)(int linktype, int snaplen);
using Compile = int (*)(PcapHandle*, freebsd::Program*, const char* expression, int optimize, std::uint32_t netmask);
using GetErr = char* (*)(PcapHandle*);
using FreeCode = void (*)(freebsd::Program*);
using Close = void (*)(PcapHandle*);

constexpr std::uint32_t kNetmaskUnknown = 0xffffffff;  // PCAP_NETMASK_UNKNOWN

#if defined(__FreeBSD__)
constexpr const char* kLibraryNames[] = {"libpcap.so.8", "libpcap.so"};
#else
// Debian/Ubuntu name the soname libpcap.so.0.8; most other distributions libpcap.so.1.
constexpr const char* kLibraryNames[] = {"libpcap.so.0.8", "libpcap.so.1", "libpcap.so"};
#endif

struct Libpcap {
  OpenDead open_dead = nullptr;
  Compile compile = nullptr;
  GetErr geterr = nullptr;
  FreeCode freecode = nullptr;
  Close close = nullptr;
  std::string load_error;  // empty once loaded

  bool loaded() const { return load_error.empty(); }
};

template <typename Fn>
bool Resolve(void* library, const char* name, Fn* fn, std::string* error) {
  *fn = reinterpret_cast<Fn>(dlsym(library, name));
  if (*fn == nullptr) *error = std::string("libpcap has no ") + name;
  return *fn != nullptr;
}

void* OpenLibrary(std::string* error) {
  // ZBPF_LIBPCAP names one library file to use instead of the search: for libpcap installed in
  // an unusual place, and for tests of the "libpcap missing" path.
  const char* chosen = std::getenv("ZBPF_LIBPCAP");
  if (chosen != nullptr && *chosen != '\0') {
    void* library = dlopen(chosen, RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) *error = dlerror();
    return library;
  }
  for (const char* name : kLibraryNames) {
    void* library = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (library != nullptr) return library;
    if (!error->empty()) *error += "; ";
    *error += dlerror();
  }
  return nullptr;
}

// Loaded once per process and never unloaded: compiled programs do not point into it, but a
// worker thread may be compiling while another environment shuts down.
Libpcap LoadLibpcap() {
  Libpcap pcap;
  void* library = OpenLibrary(&pcap.load_error);
  if (library == nullptr) return pcap;
  std::string error;
  bool ok = Resolve(library, "pcap_open_dead", &pcap.open_dead, &error) &&
            Resolve(library, "pcap_compile", &pcap.compile, &error) &&
            Resolve(library, "pcap_geterr", &pcap.geterr, &error) &&
            Resolve(library, "pcap_freecode", &pcap.freecode, &error) &&
            Resolve(library, "pcap_close", &pcap.close, &error);
  pcap.load_error = ok ? std::string() : error;
  return pcap;
}

std::mutex& CompileLock() {
  static std::mutex lock;
  return lock;
}

}  // namespace

PcapCompileResult CompilePcapFilter(const std::string& expression, int link_type, int snaplen) {
  // libpcap before 1.8 kept the parser's state in globals: one compilation at a time, also
  // across worker threads.
  std::lock_guard<std::mutex> guard(CompileLock());
  static const Libpcap pcap = LoadLibpcap();
  PcapCompileResult result;
  if (!pcap.loaded()) {
    result.outcome = PcapCompileResult::Outcome::kNoLibrary;
    result.message = pcap.load_error;
    return result;
  }
  PcapHandle* handle = pcap.open_dead(link_type, snaplen);
  if (handle == nullptr) {
    result.outcome = PcapCompileResult::Outcome::kBadExpression;
    result.message = "pcap_open_dead failed (out of memory?)";
    return result;
  }
  freebsd::Program program{0, nullptr};
  if (pcap.compile(handle, &program, expression.c_str(), 1, kNetmaskUnknown) != 0) {
    result.outcome = PcapCompileResult::Outcome::kBadExpression;
    result.message = pcap.geterr(handle);
  } else {
    result.program.assign(program.insns, program.insns + program.len);
    pcap.freecode(&program);
  }
  pcap.close(handle);
  return result;
}

}  // namespace zbpf
