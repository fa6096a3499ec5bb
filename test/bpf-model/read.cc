// bpfread() (docs/freebsd-kernel.md §3 "read(2) on a ZBUF descriptor"; buffer mode as in FreeBSD's bpf.c).
#include <fcntl.h>

#include <cerrno>

#include "descriptor.h"
#include "usercopy.h"

namespace zbpf::model {

ssize_t Descriptor::Read(void* buf, std::size_t len, int* error) {
  // File layer: a descriptor opened O_WRONLY has no FREAD.
  if (!readable_) {
    *error = EBADF;
    return -1;
  }
  const int file_flags = fcntl(event_fd_, F_GETFL);
  const bool non_block = file_flags >= 0 && (file_flags & O_NONBLOCK) != 0;

  std::unique_lock<std::mutex> lock(mutex_);
  auto fail = [&](int e) -> ssize_t {
    *error = e;
    EvaluateLocked();
    return -1;
  };
  if (closed_) return fail(EBADF);
  // "Restrict application to use a buffer the same size as kernel buffers": EINVAL, checked
  // before the mode, so ZBUF gives EINVAL for a wrong length and EOPNOTSUPP otherwise (§3).
  if (len != buffer_size_) return fail(EINVAL);
  if (buffer_mode_ != bsd::kBufModeBuffer) return fail(EOPNOTSUPP);
  const bool timed_out = timeout_state_ == TimeoutState::kTimedOut;
  timeout_state_ = TimeoutState::kIdle;  // callout_stop, state = BPF_IDLE
  WaitHoldBufferLocked(lock);            // another read is copying the hold buffer out
  if (closed_) return fail(EBADF);

  while (hold_ == nullptr) {
    // Data in the store buffer is returned at once in immediate mode, with O_NONBLOCK, or
    // after a poll-armed timeout; otherwise the reader sleeps until a rotation or timeout.
    if (store_len_ != 0 && (immediate_ || non_block || timed_out)) {
      RotateBuffersLocked();
      break;
    }
    if (!attached_) return fail(ENXIO);  // "rebind it before using it again"
    if (non_block) return fail(EWOULDBLOCK);
    bool slept_out = false;
    ++sleeping_readers_;
    if (timeout_ticks_ == 0) {
      readers_.wait(lock);
    } else {
      slept_out = readers_.wait_for(lock, std::chrono::milliseconds(timeout_ticks_)) == std::cv_status::timeout;
    }
    --sleeping_readers_;
    if (closed_) return fail(EBADF);
    if (slept_out) {
      // "On a timeout, return what's in the buffer, which may be nothing."
      if (hold_ != nullptr) break;
      if (store_len_ == 0) {
        EvaluateLocked();
        return 0;
      }
      RotateBuffersLocked();
      break;
    }
  }
  // Copy the hold buffer out with the lock dropped (bd_hbuf_in_use = 1 meanwhile), then move
  // it to the free slot; hlen bytes are returned.
  hold_in_use_ = true;
  const std::uint32_t n = hold_len_;
  Buffer* const held = hold_;
  lock.unlock();
  const int copy_error = CopyOut(held->records, buf, n);
  lock.lock();
  free_ = hold_;
  hold_ = nullptr;
  hold_len_ = 0;
  hold_in_use_ = false;
  hold_released_.notify_all();
  if (copy_error != 0) return fail(copy_error);
  EvaluateLocked();
  return static_cast<ssize_t>(n);
}

}  // namespace zbpf::model
