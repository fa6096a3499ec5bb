#include "lent_view.h"

namespace zbpf {

Napi::ArrayBuffer LentView::Lend(Napi::Env env, void* data, std::size_t length) {
  Revoke();
  // No finalizer: the memory belongs to the device, which outlives every view it lends.
  Napi::ArrayBuffer view = Napi::ArrayBuffer::New(env, data, length);
  ref_ = Napi::Reference<Napi::ArrayBuffer>::New(view, 0);
  return view;
}

void LentView::Revoke() {
  if (ref_.IsEmpty()) return;
  Napi::HandleScope scope(ref_.Env());
  Napi::ArrayBuffer view = ref_.Value();
  if (!view.IsEmpty() && !view.IsDetached()) view.Detach();
  ref_.Reset();
}

}  // namespace zbpf
