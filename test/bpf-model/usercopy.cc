// process_vm_readv/writev on our own pid check the user range the way the kernel's copyin
// does: they fail with EFAULT on an unmapped or read-only page rather than faulting.
#include "usercopy.h"

#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace zbpf::model {
namespace {

enum class Direction { kIn, kOut };

int Copy(Direction direction, const void* from, void* to, std::size_t len) {
  if (len == 0) return 0;
  iovec local{};
  iovec remote{};
  if (direction == Direction::kIn) {
    local = {to, len};
    remote = {const_cast<void*>(from), len};
  } else {
    local = {const_cast<void*>(from), len};
    remote = {to, len};
  }
  ssize_t n = direction == Direction::kIn ? process_vm_readv(getpid(), &local, 1, &remote, 1, 0)
                                          : process_vm_writev(getpid(), &local, 1, &remote, 1, 0);
  if (n == static_cast<ssize_t>(len)) return 0;
  if (n < 0 && (errno == ENOSYS || errno == EPERM)) {
    // A sandbox without process_vm_*: fall back to a plain copy (no fault checking).
    std::memcpy(to, from, len);
    return 0;
  }
  return EFAULT;
}

}  // namespace

int CopyIn(const void* user, void* kernel, std::size_t len) { return Copy(Direction::kIn, user, kernel, len); }

int CopyOut(const void* kernel, void* user, std::size_t len) { return Copy(Direction::kOut, kernel, user, len); }

}  // namespace zbpf::model
