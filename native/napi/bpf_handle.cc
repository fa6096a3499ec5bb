#include "bpf_handle.h"

#include "js_error.h"
#include "options.h"

namespace zbpf {

namespace {

BpfMode ParseMode(const std::string& mode) {
  if (mode == "zerocopy") return BpfMode::kZerocopy;
  if (mode == "buffered") return BpfMode::kBuffered;
  return BpfMode::kAuto;
}

}  // namespace

Napi::Function BpfHandle::Define(Napi::Env env) {
  return DefineClass(env, "BpfHandle",
                     {
                         InstanceAccessor<&BpfHandle::Mode>("mode"),
                         InstanceAccessor<&BpfHandle::FallbackReason>("fallbackReason"),
                         InstanceAccessor<&BpfHandle::BufferLength>("bufferLength"),
                         InstanceAccessor<&BpfHandle::LinkType>("linkType"),
                         InstanceMethod<&BpfHandle::Headers>("headers"),
                         InstanceMethod<&BpfHandle::Lend>("lend"),
                         InstanceMethod<&BpfHandle::Revoke>("revoke"),
                         InstanceMethod<&BpfHandle::Rotate>("rotate"),
                         InstanceMethod<&BpfHandle::Pending>("pending"),
                         InstanceMethod<&BpfHandle::Read>("read"),
                         InstanceMethod<&BpfHandle::Stats>("stats"),
                         InstanceMethod<&BpfHandle::Attached>("attached"),
                         InstanceMethod<&BpfHandle::SetFilter>("setFilter"),
                         InstanceMethod<&BpfHandle::Watch>("watch"),
                         InstanceMethod<&BpfHandle::Shutdown>("shutdown"),
                         InstanceMethod<&BpfHandle::Close>("close"),
                     });
}

// new BpfHandle(options, onReadable): options as normalised by lib/providers/bpf.ts.
BpfHandle::BpfHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfHandle>(info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject() || !info[1].IsFunction()) {
    Napi::TypeError::New(env, "BpfHandle(options, onReadable)").ThrowAsJavaScriptException();
    return;
  }
  Napi::Object js = info[0].As<Napi::Object>();
  BpfOptions options;
  options.interface = options::String(js, "interface");
  options.mode = ParseMode(options::String(js, "mode", "auto"));
  options.buffer_size = static_cast<std::size_t>(options::Number(js, "bufferSize"));
  options.immediate = options::Bool(js, "immediate");
  options.direction = static_cast<unsigned>(options::Number(js, "direction", freebsd::kDirectionInOut));
  options.promiscuous = options::Bool(js, "promiscuous");
  options.filter = options::Program(js.Get("filter"));

  if (!ThrowIfFailed(env, BpfDevice::Open(options, &device_))) return;
  auto diagnose = [](int status) { return Status::Fail(-status, "uv_poll", "waiting for /dev/bpf failed"); };
  if (!readiness_.Bind(env, device_->fd(), info[1].As<Napi::Function>(), "zbpf:bpf", diagnose)) {
    device_.reset();
    return;
  }
  Addon::Of(env).Track(this);
}

BpfHandle::~BpfHandle() { Release(); }

// The descriptor goes first; the mappings stay until Release, so batches already handed over
// can still be delivered after close().
Status BpfHandle::CloseDescriptor() {
  readiness_.Close();  // before the fd goes away
  return device_ ? device_->CloseDescriptor() : Status::Ok();
}

Status BpfHandle::Release() {
  if (!device_) return Status::Ok();
  Addon::Of(Env()).Untrack(this);
  Status status = CloseDescriptor();
  for (LentView& view : data_) view.Revoke();
  for (LentView& view : headers_) view.Revoke();
  device_.reset();  // unmaps
  return status;
}

bool BpfHandle::CheckOpen(Napi::Env env) {
  if (device_) return true;
  ThrowClosed(env);
  return false;
}

bool BpfHandle::CheckDescriptor(Napi::Env env) {
  if (device_ && device_->descriptor_open()) return true;
  ThrowClosed(env);
  return false;
}

int BpfHandle::CheckedSlot(const Napi::CallbackInfo& info) {
  if (!CheckOpen(info.Env())) return -1;
  double slot = -1;
  if (!options::WholeNumber(info[0], device_->zerocopy() ? 3 : 0, &slot)) {
    Napi::RangeError::New(info.Env(), "no such buffer").ThrowAsJavaScriptException();
    return -1;
  }
  return static_cast<int>(slot);
}

Napi::Value BpfHandle::Mode(const Napi::CallbackInfo& info) {
  if (!CheckOpen(info.Env())) return {};
  return Napi::String::New(info.Env(), device_->zerocopy() ? "zerocopy" : "buffered");
}

Napi::Value BpfHandle::FallbackReason(const Napi::CallbackInfo& info) {
  if (!CheckOpen(info.Env())) return {};
  const std::string& reason = device_->fallback_reason();
  return reason.empty() ? info.Env().Undefined() : Napi::String::New(info.Env(), reason);
}

Napi::Value BpfHandle::BufferLength(const Napi::CallbackInfo& info) {
  if (!CheckOpen(info.Env())) return {};
  return Napi::Number::New(info.Env(), static_cast<double>(device_->buffer_length()));
}

Napi::Value BpfHandle::LinkType(const Napi::CallbackInfo& info) {
  if (!CheckOpen(info.Env())) return {};
  return Napi::Number::New(info.Env(), device_->link_type());
}

// The 32-byte bpf_zbuf_header of each zero-copy buffer, read and acknowledged with Atomics.
Napi::Value BpfHandle::Headers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env)) return {};
  Napi::Array result = Napi::Array::New(env);
  if (!device_->zerocopy()) return result;
  for (uint32_t i = 0; i < 2; ++i) {
    result.Set(i, headers_[i].Lend(env, device_->buffer(i), freebsd::kZbufHeaderSize));
  }
  return result;
}

// lend(slot, offset, length): part of buffer slot % 2, until revoke(slot).
Napi::Value BpfHandle::Lend(const Napi::CallbackInfo& info) {
  int slot = CheckedSlot(info);
  if (slot < 0) return {};
  int index = slot % 2;
  const double limit = static_cast<double>(device_->buffer_length());
  double offset = 0;
  double length = 0;
  if (!options::WholeNumber(info[1], limit, &offset) || !options::WholeNumber(info[2], limit, &length) ||
      offset + length > limit) {
    Napi::RangeError::New(info.Env(), "lend: range outside the buffer").ThrowAsJavaScriptException();
    return {};
  }
  return data_[slot].Lend(info.Env(), device_->buffer(index) + static_cast<std::size_t>(offset),
                          static_cast<std::size_t>(length));
}

void BpfHandle::Revoke(const Napi::CallbackInfo& info) {
  int slot = CheckedSlot(info);
  if (slot >= 0) data_[slot].Revoke();
}

Napi::Value BpfHandle::Pending(const Napi::CallbackInfo& info) {
  if (!CheckDescriptor(info.Env())) return {};
  int bytes = 0;
  if (!ThrowIfFailed(info.Env(), device_->Pending(&bytes))) return {};
  return Napi::Number::New(info.Env(), bytes);
}

Napi::Value BpfHandle::Rotate(const Napi::CallbackInfo& info) {
  if (!CheckDescriptor(info.Env())) return {};
  int handed_over = -1;
  if (!ThrowIfFailed(info.Env(), device_->Rotate(&handed_over))) return {};
  return Napi::Number::New(info.Env(), handed_over);
}

// read(): into buffer 0, which must not be lent. read(target): into a JS-owned Uint8Array of
// bufferLength bytes (used when draining at close while a batch is still out).
Napi::Value BpfHandle::Read(const Napi::CallbackInfo& info) {
  if (!CheckDescriptor(info.Env())) return {};
  unsigned char* into = nullptr;
  if (info[0].IsTypedArray()) {
    Napi::Uint8Array target = info[0].As<Napi::Uint8Array>();
    if (target.ByteLength() != device_->buffer_length()) {
      Napi::RangeError::New(info.Env(), "read: target must be bufferLength bytes").ThrowAsJavaScriptException();
      return {};
    }
    into = target.Data();
  } else if (data_[0].lent()) {
    Napi::Error::New(info.Env(), "read while the previous batch is still lent").ThrowAsJavaScriptException();
    return {};
  }
  std::size_t length = 0;
  if (!ThrowIfFailed(info.Env(), device_->Read(into, &length))) return {};
  return Napi::Number::New(info.Env(), static_cast<double>(length));
}

Napi::Value BpfHandle::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckDescriptor(env)) return {};
  freebsd::Stat stats{};
  if (!ThrowIfFailed(env, device_->Stats(&stats))) return {};
  Napi::Array result = Napi::Array::New(env, 2);
  result.Set(0u, Napi::Number::New(env, stats.recv));
  result.Set(1u, Napi::Number::New(env, stats.drop));
  return result;
}

Napi::Value BpfHandle::Attached(const Napi::CallbackInfo& info) {
  if (!CheckDescriptor(info.Env())) return {};
  bool attached = false;
  if (!ThrowIfFailed(info.Env(), device_->Attached(&attached))) return {};
  return Napi::Boolean::New(info.Env(), attached);
}

void BpfHandle::SetFilter(const Napi::CallbackInfo& info) {
  if (!CheckDescriptor(info.Env())) return;
  ThrowIfFailed(info.Env(), device_->SetFilter(options::Program(info[0])));
}

// watch(true) reports readiness through onReadable until watch(false); never before attach
// (docs/freebsd-kernel.md §8.11), which the constructor has already done.
void BpfHandle::Watch(const Napi::CallbackInfo& info) {
  if (!CheckDescriptor(info.Env())) return;
  // A plain read, not ToBoolean(): coercion needs an env that may still run JS, and in a worker
  // being terminated it fails and node-addon-api's error path aborts the process.
  ThrowIfFailed(info.Env(), readiness_.Watch(info[0].As<Napi::Boolean>().Value()));
}

void BpfHandle::Shutdown(const Napi::CallbackInfo& info) { ThrowIfFailed(info.Env(), CloseDescriptor()); }

void BpfHandle::Close(const Napi::CallbackInfo& info) { ThrowIfFailed(info.Env(), Release()); }

}  // namespace zbpf
