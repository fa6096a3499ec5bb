// dlsym(RTLD_NEXT) lookups of the interposed libc functions, resolved once and cached.
#include "real_libc.h"

#include <dlfcn.h>

#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

#include "model.h"

namespace zbpf::model {

void Trace(const char* format, ...) {
  static const bool enabled = std::getenv("BPF_MODEL_TRACE") != nullptr;
  if (!enabled) return;
  char line[512];
  va_list args;
  va_start(args, format);
  int n = std::vsnprintf(line, sizeof line, format, args);
  va_end(args);
  if (n < 0) return;
  std::size_t len = static_cast<std::size_t>(n) < sizeof line ? static_cast<std::size_t>(n) : sizeof line - 1;
  // Diagnostics only: a short or failed write to stderr is not worth reporting.
  ssize_t ignored = ::write(STDERR_FILENO, "bpf-model: ", 11);
  ignored = ::write(STDERR_FILENO, line, len);
  ignored = ::write(STDERR_FILENO, "\n", 1);
  (void)ignored;
}

namespace libc {
namespace {

template <typename Fn>
Fn Resolve(std::atomic<void*>& slot, const char* name) {
  void* fn = slot.load(std::memory_order_acquire);
  if (fn == nullptr) {
    fn = dlsym(RTLD_NEXT, name);
    if (fn == nullptr) {
      // Without the real libc function nothing can work; fail loudly rather than recurse.
      std::fprintf(stderr, "bpf-model: dlsym(RTLD_NEXT, %s) failed: %s\n", name, dlerror());
      std::abort();
    }
    slot.store(fn, std::memory_order_release);
  }
  return reinterpret_cast<Fn>(fn);
}

std::atomic<void*> open_slot{nullptr};
std::atomic<void*> openat_slot{nullptr};
std::atomic<void*> read_slot{nullptr};
std::atomic<void*> ioctl_slot{nullptr};
std::atomic<void*> close_slot{nullptr};
std::atomic<void*> syscall_slot{nullptr};
std::atomic<void*> epoll_ctl_slot{nullptr};

}  // namespace

int Open(const char* path, int flags, mode_t mode) {
  using Fn = int (*)(const char*, int, ...);
  return Resolve<Fn>(open_slot, "open")(path, flags, mode);
}

int OpenAt(int dirfd, const char* path, int flags, mode_t mode) {
  using Fn = int (*)(int, const char*, int, ...);
  return Resolve<Fn>(openat_slot, "openat")(dirfd, path, flags, mode);
}

ssize_t Read(int fd, void* buf, size_t len) {
  using Fn = ssize_t (*)(int, void*, size_t);
  return Resolve<Fn>(read_slot, "read")(fd, buf, len);
}

int Ioctl(int fd, unsigned long request, void* arg) {
  using Fn = int (*)(int, unsigned long, ...);
  return Resolve<Fn>(ioctl_slot, "ioctl")(fd, request, arg);
}

int Close(int fd) {
  using Fn = int (*)(int);
  return Resolve<Fn>(close_slot, "close")(fd);
}

int EpollCtl(int epfd, int op, int fd, void* event) {
  using Fn = int (*)(int, int, int, void*);
  return Resolve<Fn>(epoll_ctl_slot, "epoll_ctl")(epfd, op, fd, event);
}

long Syscall(long number, long a0, long a1, long a2, long a3, long a4, long a5) {
  using Fn = long (*)(long, ...);
  return Resolve<Fn>(syscall_slot, "syscall")(number, a0, a1, a2, a3, a4, a5);
}

}  // namespace libc
}  // namespace zbpf::model
