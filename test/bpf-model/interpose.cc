// The LD_PRELOAD surface: open/ioctl/read/close for "/dev/bpf", everything else passed
// straight to libc. A bpf descriptor is a real eventfd whose readability mirrors what
// poll() on the FreeBSD descriptor would report (docs/freebsd-kernel.md §4), so epoll/libuv work on it unchanged.
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "descriptor.h"
#include "real_libc.h"

namespace zbpf::model {
namespace {

// fd-indexed table: a non-bpf fd costs one relaxed load of a null pointer.
constexpr int kTableSize = 1 << 16;
std::atomic<Descriptor*> g_descriptors[kTableSize];
// pid of the process that opened each descriptor: a forked child inherits the table but
// not the feed threads, and must not try to stop them.
pid_t g_owner[kTableSize];
// Taken only for bpf fds, so that a lookup's reference and close's removal cannot race.
std::mutex g_table_mutex;

bool IsDevicePath(const char* path) {
  return path != nullptr && (std::strcmp(path, "/dev/bpf") == 0 || std::strcmp(path, "/dev/bpf0") == 0);
}

bool NeedsMode(int flags) { return (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE; }

void Release(Descriptor* d) {
  if (d->references.fetch_sub(1, std::memory_order_acq_rel) == 1) delete d;
}

Descriptor* Acquire(int fd) {
  if (fd < 0 || fd >= kTableSize) return nullptr;
  if (g_descriptors[fd].load(std::memory_order_relaxed) == nullptr) return nullptr;
  Descriptor* d = nullptr;
  {
    std::lock_guard<std::mutex> lock(g_table_mutex);
    d = g_descriptors[fd].load(std::memory_order_relaxed);
    if (d != nullptr) d->references.fetch_add(1, std::memory_order_relaxed);
  }
  if (d == nullptr || d->SameOpenFile(fd)) return d;
  // The fd was closed without going through the model (io_uring, a raw syscall it does not
  // see) and its number now names another file: retire the stale entry, pass the call on.
  Trace("fd %d no longer refers to the bpf descriptor: dropping it", fd);
  Descriptor* stale = nullptr;
  {
    std::lock_guard<std::mutex> lock(g_table_mutex);
    if (g_descriptors[fd].load(std::memory_order_relaxed) == d) {
      stale = g_descriptors[fd].exchange(nullptr, std::memory_order_acq_rel);
    }
  }
  if (stale != nullptr) {
    stale->Close();
    Release(stale);  // the table's reference
  }
  Release(d);  // ours
  return nullptr;
}

bool IsModelFd(int fd) {
  return fd >= 0 && fd < kTableSize && g_descriptors[fd].load(std::memory_order_relaxed) != nullptr;
}

// bpfopen (§3 "Device and open").
int OpenDevice(int flags) {
  const char* device = std::getenv("BPF_MODEL_DEVICE");
  if (device != nullptr && std::strcmp(device, "absent") == 0) {
    errno = ENOENT;  // a kernel without bpf(4)
    return -1;
  }
  if (geteuid() != 0) {
    errno = EACCES;  // §3: /dev/bpf is root:wheel 0600
    return -1;
  }
  const int access = flags & O_ACCMODE;
  if (access != O_RDONLY && access != O_WRONLY && access != O_RDWR) {
    errno = EINVAL;
    return -1;
  }
  // The eventfd carries the open file's flags: O_NONBLOCK is what bpfread consults and what
  // fcntl(F_SETFL) or FIONBIO change later; O_CLOEXEC becomes EFD_CLOEXEC.
  const int efd = eventfd(0, ((flags & O_NONBLOCK) ? EFD_NONBLOCK : 0) | ((flags & O_CLOEXEC) ? EFD_CLOEXEC : 0));
  if (efd < 0) return -1;
  if (efd >= kTableSize) {
    libc::Close(efd);
    errno = EMFILE;
    return -1;
  }
  // §3: without FREAD (O_WRONLY) the descriptor is writer-only (§8.15).
  auto* d = new Descriptor(efd, access != O_WRONLY, access == O_WRONLY);
  {
    std::lock_guard<std::mutex> lock(g_table_mutex);
    g_owner[efd] = getpid();
    g_descriptors[efd].store(d, std::memory_order_release);
  }
  d->Tick();  // unattached: readable at once (§4 poll rule, §8.11)
  Trace("open /dev/bpf -> fd %d", efd);
  return efd;
}

int OpenAnyPath(int dirfd, const char* path, int flags, mode_t mode) {
  if (IsDevicePath(path)) return OpenDevice(flags);
  return libc::OpenAt(dirfd, path, flags, mode);
}

int CloseFd(int fd) {
  Descriptor* d = nullptr;
  bool forked_child = false;
  if (IsModelFd(fd)) {
    std::lock_guard<std::mutex> lock(g_table_mutex);
    d = g_descriptors[fd].exchange(nullptr, std::memory_order_acq_rel);
    forked_child = d != nullptr && g_owner[fd] != getpid();
  }
  if (d != nullptr) {
    Trace("close fd %d", fd);
    // bpf_dtor. In a forked child the state (and its threads) belong to the parent: leave
    // it alone and close only the child's copy of the fd.
    if (!forked_child) {
      d->Close();
      Release(d);
    }
  }
  return libc::Close(fd);
}

}  // namespace
}  // namespace zbpf::model

using zbpf::model::Acquire;
using zbpf::model::IsModelFd;
using zbpf::model::NeedsMode;
using zbpf::model::OpenAnyPath;
using zbpf::model::Release;

#define ZBPF_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

mode_t ModeArgument(int flags, va_list args) {
  return NeedsMode(flags) ? static_cast<mode_t>(va_arg(args, unsigned)) : 0;
}

}  // namespace

ZBPF_EXPORT int open(const char* path, int flags, ...) {
  va_list args;
  va_start(args, flags);
  const mode_t mode = ModeArgument(flags, args);
  va_end(args);
  return OpenAnyPath(AT_FDCWD, path, flags, mode);
}

ZBPF_EXPORT int open64(const char* path, int flags, ...) {
  va_list args;
  va_start(args, flags);
  const mode_t mode = ModeArgument(flags, args);
  va_end(args);
  return OpenAnyPath(AT_FDCWD, path, flags, mode);
}

ZBPF_EXPORT int openat(int dirfd, const char* path, int flags, ...) {
  va_list args;
  va_start(args, flags);
  const mode_t mode = ModeArgument(flags, args);
  va_end(args);
  return OpenAnyPath(dirfd, path, flags, mode);
}

ZBPF_EXPORT int openat64(int dirfd, const char* path, int flags, ...) {
  va_list args;
  va_start(args, flags);
  const mode_t mode = ModeArgument(flags, args);
  va_end(args);
  return OpenAnyPath(dirfd, path, flags, mode);
}

// _FORTIFY_SOURCE entry points (no mode argument by contract).
ZBPF_EXPORT int __open_2(const char* path, int flags) { return OpenAnyPath(AT_FDCWD, path, flags, 0); }
ZBPF_EXPORT int __open64_2(const char* path, int flags) { return OpenAnyPath(AT_FDCWD, path, flags, 0); }
ZBPF_EXPORT int __openat_2(int dirfd, const char* path, int flags) { return OpenAnyPath(dirfd, path, flags, 0); }
ZBPF_EXPORT int __openat64_2(int dirfd, const char* path, int flags) { return OpenAnyPath(dirfd, path, flags, 0); }

ZBPF_EXPORT int ioctl(int fd, unsigned long request, ...) noexcept {
  va_list args;
  va_start(args, request);
  void* arg = va_arg(args, void*);
  va_end(args);
  zbpf::model::Descriptor* d = Acquire(fd);
  if (d == nullptr) return zbpf::model::libc::Ioctl(fd, request, arg);
  int result;
  // FreeBSD truncates requests to 32 bits (sys_ioctl). Requests with no FreeBSD direction
  // bits at all (Linux's legacy 0x54xx numbers such as FIONBIO, FIOCLEX, which libuv issues
  // on any fd it polls) come from the Linux host runtime, not from FreeBSD code: they are
  // applied to the eventfd itself.
  const unsigned long bsd_request = request & 0xffffffffUL;
  if ((bsd_request & 0xffff0000UL) == 0) {
    result = zbpf::model::libc::Ioctl(fd, request, arg);
  } else {
    const int error = d->Ioctl(bsd_request, arg);
    result = error == 0 ? 0 : -1;
    if (error != 0) errno = error;
  }
  Release(d);
  return result;
}

ZBPF_EXPORT ssize_t read(int fd, void* buf, size_t len) {
  zbpf::model::Descriptor* d = Acquire(fd);
  if (d == nullptr) return zbpf::model::libc::Read(fd, buf, len);
  int error = 0;
  const ssize_t n = d->Read(buf, len, &error);
  Release(d);
  if (n < 0) errno = error;
  return n;
}

ZBPF_EXPORT int close(int fd) { return zbpf::model::CloseFd(fd); }

// Registrations of a bpf fd with epoll stand for kevent(2) registrations of EVFILT_READ (what
// libuv does on FreeBSD): the model evaluates the knote then (README "Readiness").
ZBPF_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event* event) noexcept {
  const int result = zbpf::model::libc::EpollCtl(epfd, op, fd, event);
  if (result != 0 || !IsModelFd(fd)) return result;
  const int saved_errno = errno;
  zbpf::model::Descriptor* d = Acquire(fd);
  if (d != nullptr) {
    const bool reading = op != EPOLL_CTL_DEL && event != nullptr && (event->events & EPOLLIN) != 0;
    d->Register(epfd, reading);
    Release(d);
  }
  errno = saved_errno;
  return result;
}

// _FORTIFY_SOURCE's read (used when the buffer size is known at compile time).
ZBPF_EXPORT ssize_t __read_chk(int fd, void* buf, size_t len, size_t buflen) {
  if (len > buflen) {
    // Same outcome as glibc's __chk_fail: a buffer overflow is fatal.
    static const char message[] = "*** buffer overflow detected ***: terminated\n";
    ssize_t ignored = ::write(STDERR_FILENO, message, sizeof message - 1);
    (void)ignored;
    std::abort();
  }
  return read(fd, buf, len);
}

// libuv on Linux closes fds with syscall(SYS_close, fd) (uv__close_nocancel), which would
// bypass close(): route that one syscall through the model; refuse io_uring_setup (below);
// pass every other one on.
ZBPF_EXPORT long syscall(long number, ...) noexcept {
  va_list args;
  va_start(args, number);
  long a[6];
  // Like glibc's own syscall(), always take six arguments; the kernel ignores extras.
  for (long& value : a) value = va_arg(args, long);
  va_end(args);
  if (number == SYS_close && IsModelFd(static_cast<int>(a[0]))) {
    zbpf::model::Trace("syscall(SYS_close, %ld)", a[0]);
    return zbpf::model::CloseFd(static_cast<int>(a[0]));
  }
  // libuv (1.45 and later) batches epoll_ctl ADD/MOD through an io_uring when it can set one
  // up (with syscall(), glibc has no wrapper), and UV_USE_IO_URING=0 does not turn that off in
  // every version. The model must see those registrations (README "Readiness"), so no
  // io_uring can be set up in a process that runs under it: libuv then calls epoll_ctl.
  if (number == SYS_io_uring_setup) {
    zbpf::model::Trace("syscall(SYS_io_uring_setup): ENOSYS under the model");
    errno = ENOSYS;
    return -1;
  }
  return zbpf::model::libc::Syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
