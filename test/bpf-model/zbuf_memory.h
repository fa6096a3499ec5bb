// The model's hold on one user buffer registered with BIOCSETZBUF (docs/freebsd-kernel.md §3 zbuf_setup).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "model.h"

namespace zbpf::model {

// FreeBSD wires the user pages and writes through kernel mappings of them, so the buffer
// stays valid for the kernel even if the process unmaps it (§8.12, §8.13). The model gets
// the same effect for MAP_SHARED memory by mapping the same pages a second time (mremap
// with old_size 0); for private memory it has to write through the user address itself.
class ZbufRegion {
 public:
  ZbufRegion(void* user, std::size_t len, std::uint8_t* view, bool aliased);
  ~ZbufRegion();
  ZbufRegion(const ZbufRegion&) = delete;
  ZbufRegion& operator=(const ZbufRegion&) = delete;

  void* user_address() const { return user_; }
  bsd::ZbufHeader* header() const { return reinterpret_cast<bsd::ZbufHeader*>(view_); }
  // Record data starts right after the 32-byte header (§5).
  std::uint8_t* records() const { return view_ + bsd::kZbufHeaderSize; }
  bool aliased() const { return aliased_; }

 private:
  void* user_;
  std::size_t len_;
  std::uint8_t* view_;
  bool aliased_;
};

// zbuf_setup(): EINVAL for an unaligned address, a length that is not a page multiple or
// more than BPF_MAX_PAGES pages; EFAULT if any page is not mapped readable and writable.
// On success the header is zeroed (§3 zeroes the 32-byte header of both buffers).
int SetupZbufRegion(void* user, std::size_t len, std::unique_ptr<ZbufRegion>* out);

}  // namespace zbpf::model
