// Parses BPF_MODEL_SYSCTLS on every lookup: lookups are rare (ioctl time), and re-reading
// is what lets a test flip a "sysctl" between two captures in the same process.
#include "sysctl.h"

#include <cstdlib>
#include <cstring>
#include <string>

#include "model.h"

namespace zbpf::model::sysctl {
namespace {

bool IsSeparator(char c) { return c == ' ' || c == ',' || c == '\t' || c == '\n'; }

// The value of `name` in BPF_MODEL_SYSCTLS, or `fallback` when absent or not a number.
// The last occurrence wins, like setting a sysctl twice.
long Lookup(const char* name, long fallback) {
  const char* env = std::getenv("BPF_MODEL_SYSCTLS");
  if (env == nullptr) return fallback;
  long value = fallback;
  const std::size_t name_len = std::strlen(name);
  const char* p = env;
  while (*p != '\0') {
    while (IsSeparator(*p)) ++p;
    const char* start = p;
    while (*p != '\0' && !IsSeparator(*p)) ++p;
    std::string item(start, static_cast<std::size_t>(p - start));
    if (item.size() > name_len && item.compare(0, name_len, name) == 0 && item[name_len] == '=') {
      const char* text = item.c_str() + name_len + 1;
      char* end = nullptr;
      long parsed = std::strtol(text, &end, 0);
      if (end != text && *end == '\0') {
        value = parsed;
      } else {
        Trace("ignoring malformed sysctl %s", item.c_str());
      }
    }
  }
  return value;
}

}  // namespace

bool ZerocopyEnable() { return Lookup("net.bpf.zerocopy_enable", 0) != 0; }
bool OptimizeWriters() { return Lookup("net.bpf.optimize_writers", 0) != 0; }
long MaxInsns() { return Lookup("net.bpf.maxinsns", static_cast<long>(bsd::kMaxInsns)); }
long BufSize() { return Lookup("net.bpf.bufsize", 4096); }
long MaxBufSize() { return Lookup("net.bpf.maxbufsize", 0x80000); }

}  // namespace zbpf::model::sysctl
