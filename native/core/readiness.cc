#include "readiness.h"

namespace zbpf {

struct ReadinessWatcher::Handle {
  uv_poll_t poll;
  ReadinessWatcher* owner;
};

ReadinessWatcher::ReadinessWatcher(uv_loop_t* loop, int fd, Callback on_ready)
    : loop_(loop), fd_(fd), on_ready_(std::move(on_ready)) {}

ReadinessWatcher::~ReadinessWatcher() { Close(); }

Status ReadinessWatcher::Start() {
  if (active_) return Status::Ok();
  if (handle_ == nullptr) {
    auto* handle = new Handle{};
    handle->owner = this;
    int rc = uv_poll_init(loop_, &handle->poll, fd_);
    if (rc != 0) {
      delete handle;
      return Status::Fail(-rc, "uv_poll_init", "the event loop cannot watch this descriptor");
    }
    handle->poll.data = handle;
    handle_ = handle;
  }
  int rc = uv_poll_start(&handle_->poll, UV_READABLE, OnPoll);
  if (rc != 0) return Status::Fail(-rc, "uv_poll_start", "the event loop cannot watch this descriptor");
  active_ = true;
  return Status::Ok();
}

void ReadinessWatcher::Stop() {
  if (!active_) return;
  uv_poll_stop(&handle_->poll);
  active_ = false;
}

void ReadinessWatcher::Close() {
  if (handle_ == nullptr) return;
  Stop();
  handle_->owner = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_->poll),
           [](uv_handle_t* h) { delete static_cast<Handle*>(h->data); });
  handle_ = nullptr;
}

void ReadinessWatcher::OnPoll(uv_poll_t* poll, int status, int /*events*/) {
  auto* handle = static_cast<Handle*>(poll->data);
  if (handle->owner == nullptr) return;
  handle->owner->on_ready_(status);
}

}  // namespace zbpf
