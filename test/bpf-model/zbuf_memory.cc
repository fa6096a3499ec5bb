// Validation and aliasing of user buffers for zero-copy mode (docs/freebsd-kernel.md §3 BIOCSETZBUF step 4).
#include "zbuf_memory.h"

#include <fcntl.h>
#include <sys/mman.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>

#include "real_libc.h"

namespace zbpf::model {
namespace {

// What /proc/self/maps says about [start, end).
struct RangeFacts {
  bool mapped_rw = false;     // every page mapped readable and writable
  bool single_shared = false;  // one MAP_SHARED mapping covers the whole range
};

bool ReadSelfMaps(std::string* text) {
  int fd = libc::Open("/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return false;
  char chunk[8192];
  bool ok = true;
  for (;;) {
    ssize_t n = libc::Read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ok = false;
    if (n <= 0) break;
    text->append(chunk, static_cast<std::size_t>(n));
  }
  if (libc::Close(fd) != 0) ok = false;
  return ok;
}

RangeFacts Inspect(std::uintptr_t start, std::uintptr_t end) {
  RangeFacts facts;
  std::string maps;
  if (!ReadSelfMaps(&maps)) return facts;
  std::uintptr_t covered = start;  // everything below `covered` is known to be mapped rw
  int mappings = 0;
  bool all_shared = true;
  std::size_t pos = 0;
  while (pos < maps.size() && covered < end) {
    std::size_t eol = maps.find('\n', pos);
    if (eol == std::string::npos) eol = maps.size();
    std::string line = maps.substr(pos, eol - pos);
    pos = eol + 1;
    std::uintptr_t lo = 0, hi = 0;
    char perms[5] = {};
    if (std::sscanf(line.c_str(), "%" SCNxPTR "-%" SCNxPTR " %4s", &lo, &hi, perms) != 3) continue;
    if (hi <= covered || lo > covered) continue;  // maps is sorted: find the piece at `covered`
    if (perms[0] != 'r' || perms[1] != 'w') return facts;
    if (perms[3] != 's') all_shared = false;
    ++mappings;
    covered = hi;
  }
  facts.mapped_rw = covered >= end;
  facts.single_shared = facts.mapped_rw && mappings == 1 && all_shared;
  return facts;
}

// True if writes through `alias` show up at `user` (and the other way round), checked at
// both ends of the range; the probe bytes are restored.
bool SamePages(volatile std::uint8_t* user, volatile std::uint8_t* alias, std::size_t len) {
  const std::size_t ends[2] = {0, len - 1};
  for (std::size_t at : ends) {
    const std::uint8_t saved = user[at];
    alias[at] = static_cast<std::uint8_t>(saved ^ 0xa5);
    const bool same = user[at] == static_cast<std::uint8_t>(saved ^ 0xa5);
    alias[at] = saved;
    if (!same) return false;
  }
  return true;
}

// A second mapping of the pages of a MAP_SHARED range, or nullptr.
std::uint8_t* AliasSharedRange(void* user, std::size_t len) {
  void* alias = mremap(user, 0, len, MREMAP_MAYMOVE);
  if (alias == MAP_FAILED) return nullptr;
  auto* view = static_cast<std::uint8_t*>(alias);
  if (!SamePages(static_cast<std::uint8_t*>(user), view, len)) {
    if (munmap(alias, len) != 0) Trace("munmap of a failed alias: %s", std::strerror(errno));
    return nullptr;
  }
  return view;
}

}  // namespace

ZbufRegion::ZbufRegion(void* user, std::size_t len, std::uint8_t* view, bool aliased)
    : user_(user), len_(len), view_(view), aliased_(aliased) {}

ZbufRegion::~ZbufRegion() {
  if (aliased_ && munmap(view_, len_) != 0) Trace("munmap(alias): %s", std::strerror(errno));
}

int SetupZbufRegion(void* user, std::size_t len, std::unique_ptr<ZbufRegion>* out) {
  const auto address = reinterpret_cast<std::uintptr_t>(user);
  // §3 step 4: page-aligned address, whole pages, at most BPF_MAX_PAGES pages.
  if ((address & (kPageSize - 1)) != 0) return EINVAL;
  if ((len & (kPageSize - 1)) != 0) return EINVAL;
  if (len / kPageSize > kMaxZbufPages) return EINVAL;
  // §3 step 4: every page must be mapped READ|WRITE (unmapped, read-only ...: EFAULT).
  // Untouched anonymous memory counts as mapped: the kernel faults it in.
  const RangeFacts facts = Inspect(address, address + len);
  if (!facts.mapped_rw) return EFAULT;
  std::uint8_t* alias = facts.single_shared ? AliasSharedRange(user, len) : nullptr;
  auto region = std::make_unique<ZbufRegion>(user, len, alias != nullptr ? alias : static_cast<std::uint8_t*>(user),
                                             alias != nullptr);
  if (alias == nullptr) Trace("buffer %p is not one MAP_SHARED mapping: writing through the user address", user);
  // §3 On success: the kernel zeroes the 32-byte header (zbuf_setup does it per buffer).
  std::memset(region->header(), 0, sizeof(bsd::ZbufHeader));
  *out = std::move(region);
  return 0;
}

}  // namespace zbpf::model
