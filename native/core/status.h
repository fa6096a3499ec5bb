// The result of a system call sequence: either ok, or which call failed, with errno and a hint
// that tells the user what to do about it. Native code returns these; only the N-API glue
// turns them into JS errors (see napi/js_error.cc).
#pragma once

#include <string>
#include <utility>

namespace zbpf {

struct Status {
  int err = 0;             // errno; 0 means success
  std::string syscall;     // e.g. "ioctl(BIOCSETZBUF)"
  std::string hint;        // what the user can do about it

  bool ok() const { return err == 0; }

  static Status Ok() { return {}; }
  static Status Fail(int err, std::string syscall, std::string hint = {}) {
    return Status{err, std::move(syscall), std::move(hint)};
  }
};

}  // namespace zbpf
