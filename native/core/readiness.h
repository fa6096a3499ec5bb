// Readiness of a descriptor on the event loop of the environment that owns the capture.
// A heap-allocated uv_poll_t whose memory is released in its close callback, so the owner
// may go away at any time (GC, worker exit) without leaving libuv a dangling handle.
#pragma once

#include <uv.h>

#include <functional>

#include "status.h"

namespace zbpf {

class ReadinessWatcher {
 public:
  // status is 0 when readable, a negative libuv error otherwise.
  using Callback = std::function<void(int status)>;

  ReadinessWatcher(uv_loop_t* loop, int fd, Callback on_ready);
  ReadinessWatcher(const ReadinessWatcher&) = delete;
  ReadinessWatcher& operator=(const ReadinessWatcher&) = delete;
  ~ReadinessWatcher();

  Status Start();
  void Stop();
  // Stops polling and hands the handle to libuv for closing; must run before the fd is closed.
  void Close();

 private:
  struct Handle;
  static void OnPoll(uv_poll_t* poll, int status, int events);

  uv_loop_t* loop_;
  int fd_;
  Callback on_ready_;
  Handle* handle_ = nullptr;
  bool active_ = false;
};

}  // namespace zbpf
