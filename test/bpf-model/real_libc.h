// The libc functions the model interposes, reached with dlsym(RTLD_NEXT). The model's own
// syscalls go through these so that they never re-enter the interposed wrappers.
#pragma once

#include <sys/types.h>

namespace zbpf::model::libc {

int Open(const char* path, int flags, mode_t mode);
int OpenAt(int dirfd, const char* path, int flags, mode_t mode);
ssize_t Read(int fd, void* buf, size_t len);
int Ioctl(int fd, unsigned long request, void* arg);
int Close(int fd);
int EpollCtl(int epfd, int op, int fd, void* event);
long Syscall(long number, long a0, long a1, long a2, long a3, long a4, long a5);

}  // namespace zbpf::model::libc
