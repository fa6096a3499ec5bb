#include "shared_region.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace zbpf {

SharedRegion::SharedRegion(SharedRegion&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), length_(std::exchange(other.length_, 0)) {}

SharedRegion& SharedRegion::operator=(SharedRegion&& other) noexcept {
  if (this != &other) {
    Unmap();
    data_ = std::exchange(other.data_, nullptr);
    length_ = std::exchange(other.length_, 0);
  }
  return *this;
}

SharedRegion::~SharedRegion() { Unmap(); }

Status SharedRegion::Map(std::size_t length) {
  Unmap();
  void* addr = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANON, -1, 0);
  if (addr == MAP_FAILED) {
    return Status::Fail(errno, "mmap", "not enough memory for the capture buffers: use a smaller bufferSize");
  }
  data_ = static_cast<unsigned char*>(addr);
  length_ = length;
  return Status::Ok();
}

void SharedRegion::Unmap() {
  if (data_ == nullptr) return;
  // munmap of a region we mapped ourselves fails only on a programming error; nothing to report.
  munmap(data_, length_);
  data_ = nullptr;
  length_ = 0;
}

std::size_t PageSize() {
  static const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

std::size_t RoundUpToPage(std::size_t length) {
  const std::size_t page = PageSize();
  return (length + page - 1) / page * page;
}

}  // namespace zbpf
