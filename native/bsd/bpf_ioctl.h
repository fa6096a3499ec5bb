// ioctl(2) on a BPF descriptor, with the failure described as "ioctl(NAME)".
#pragma once

#include <sys/ioctl.h>

#include <cerrno>

#include "../core/status.h"

namespace zbpf {

inline Status BpfIoctl(int fd, unsigned long request, const char* name, void* arg, std::string hint = {}) {
  if (ioctl(fd, request, arg) == 0) return Status::Ok();
  return Status::Fail(errno, std::string("ioctl(") + name + ")", std::move(hint));
}

#define ZBPF_IOCTL(fd, request, arg, ...) ::zbpf::BpfIoctl((fd), ::zbpf::freebsd::k##request, #request, (arg), ##__VA_ARGS__)

}  // namespace zbpf
