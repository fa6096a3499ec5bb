// Shared memory lent to JS as an ArrayBuffer, detached when it is given back (docs/architecture.md
// rule 2): a view kept too long reads as empty, never as bytes the kernel wrote later.
#pragma once

#include <napi.h>

#include <cstddef>

namespace zbpf {

class LentView {
 public:
  Napi::ArrayBuffer Lend(Napi::Env env, void* data, std::size_t length);
  void Revoke();
  bool lent() const { return !ref_.IsEmpty(); }

 private:
  Napi::Reference<Napi::ArrayBuffer> ref_;  // weak: if JS dropped it, there is nothing to detach
};

}  // namespace zbpf
