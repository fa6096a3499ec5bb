// copyin(9)/copyout(9) for the model: a bad user pointer becomes EFAULT, as FreeBSD's
// generic ioctl layer reports it, instead of a crash of the host process.
#pragma once

#include <cstddef>

namespace zbpf::model {

// Both return 0 or EFAULT.
int CopyIn(const void* user, void* kernel, std::size_t len);
int CopyOut(const void* kernel, void* user, std::size_t len);

}  // namespace zbpf::model
