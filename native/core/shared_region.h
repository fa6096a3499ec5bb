// Memory shared with the kernel: a dedicated MAP_SHARED|MAP_ANON mapping, never malloc or a
// Node Buffer. Shared (not private) so fork() cannot turn it copy-on-write under the kernel's
// feet (docs/freebsd-kernel.md §8.14). The owner unmaps it only after closing the descriptor (§8.12).
#pragma once

#include <cstddef>

#include "status.h"

namespace zbpf {

class SharedRegion {
 public:
  SharedRegion() = default;
  SharedRegion(const SharedRegion&) = delete;
  SharedRegion& operator=(const SharedRegion&) = delete;
  SharedRegion(SharedRegion&& other) noexcept;
  SharedRegion& operator=(SharedRegion&& other) noexcept;
  ~SharedRegion();

  Status Map(std::size_t length);
  void Unmap();

  unsigned char* data() const { return data_; }
  std::size_t length() const { return length_; }
  bool mapped() const { return data_ != nullptr; }

 private:
  unsigned char* data_ = nullptr;
  std::size_t length_ = 0;
};

std::size_t PageSize();
std::size_t RoundUpToPage(std::size_t length);

}  // namespace zbpf
