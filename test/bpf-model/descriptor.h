// One open /dev/bpf: FreeBSD's struct bpf_d and what bpf.c, bpf_buffer.c and
// bpf_zerocopy.c do with it (§3 to §5 of docs/freebsd-kernel.md).
#pragma once

#include <sys/types.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "feed.h"
#include "model.h"
#include "zbuf_memory.h"

namespace zbpf::model {

// One of the two buffers a descriptor rotates through its store, hold and free slots.
struct Buffer {
  std::uint8_t* records = nullptr;       // offset 0 of the record area (after the header in ZBUF mode)
  std::unique_ptr<std::uint8_t[]> heap;  // BUFFER mode storage (bpf_buffer.c malloc)
  std::unique_ptr<ZbufRegion> zbuf;      // ZBUF mode: the user's memory (§3 BIOCSETZBUF)
  bool assigned = false;                 // ZBUF_FLAG_ASSIGNED: handed to user space (§4)
};

class Descriptor final : public PacketSink {
 public:
  // What the eventfd's readability stands for (README "Readiness"): bpfpoll() answered at
  // any moment, or the state of an EVFILT_READ knote (bpfkqfilter, filt_bpfread).
  enum class Readiness { kPoll, kKqueue };

  // `event_fd` is the fd user space holds; its readability mirrors what poll() on the
  // FreeBSD descriptor would report for POLLIN (§4 "poll / select").
  Descriptor(int event_fd, bool readable, bool write_only);
  ~Descriptor() override;
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;

  // bpfioctl() behind FreeBSD's generic ioctl layer; returns 0 or an errno value.
  int Ioctl(unsigned long request, void* arg);
  // bpfread(); returns the byte count, or -1 with *error set.
  ssize_t Read(void* buf, std::size_t len, int* error);
  // bpf_dtor(): detaches and stops the feed thread. Afterwards the descriptor never touches
  // the event fd or user memory again (§8.12).
  void Close();

  // An epoll_ctl on the user's fd: ADD or MOD asking for EPOLLIN registers a reader on
  // epoll instance `epfd` (kevent EV_ADD of EVFILT_READ), DEL or MOD without EPOLLIN removes it.
  void Register(int epfd, bool reading);

  // PacketSink, called on the feed thread.
  void Tap(const std::uint8_t* packet, std::uint32_t buflen, std::uint32_t wirelen, bool outbound,
           const timespec& stamp) override;
  void AccountLostPackets(std::uint32_t count) override;
  void InterfaceDeparted() override;
  void Tick() override;

  // True if `fd` still refers to this descriptor's open file (false once the user's fd was
  // closed behind the model's back and its number reused). Unknown counts as true.
  bool SameOpenFile(int fd) const;

  std::atomic<int> references{1};  // held by the fd table and by calls in progress

 private:
  enum class TimeoutState { kIdle, kWaiting, kTimedOut };  // BPF_IDLE / WAITING / TIMED_OUT
  using Clock = std::chrono::steady_clock;

  // The generic ioctl layer and the bpfioctl switch (ioctl.cc).
  int Dispatch(unsigned long request, unsigned char* arg);
  int SetBufferMode(unsigned mode);
  int SetBufferLength(std::uint32_t* size);
  int SetZeroCopyBuffers(const bsd::Zbuf& zbuf);
  int RotateZeroCopyBuffers(bsd::Zbuf* answer);
  int SetInterface(const bsd::Ifreq& request);
  int SetFilter(unsigned long request, const bsd::Program& program);
  int SetReadTimeout(const bsd::Timeval& tv);
  int EnablePromiscuous();
  int GetDltList(unsigned char* arg);

  // Buffer state machine (descriptor.cc); all *Locked functions need mutex_.
  int AllocateKernelBuffers(std::uint32_t size);
  void CatchPacketLocked(const std::uint8_t* packet, std::uint32_t available, std::uint32_t wirelen,
                         std::uint32_t snaplen, const timespec& stamp);
  void AppendLocked(Buffer* buffer, std::uint32_t offset, const void* src, std::uint32_t len);
  void RotateBuffersLocked();
  void HandOverLocked(Buffer* buffer, std::uint32_t len);
  bool CanFreeHoldBufferLocked() const;
  bool CanWriteStoreBufferLocked() const;
  void ReclaimHoldBufferLocked();
  // Both need `lock` to hold mutex_: they may sleep on hold_released_ like the kernel's
  // mtx_sleep(&d->bd_hbuf_in_use, &d->bd_lock, ...).
  void WaitHoldBufferLocked(std::unique_lock<std::mutex>& lock);
  void ResetLocked(std::unique_lock<std::mutex>& lock);
  int ReadableBytesLocked(std::unique_lock<std::mutex>& lock);
  bool ReadyLocked() const;
  void WakeupLocked();
  bool FilterReadLocked();  // filt_bpfread: bpf_ready, arming the callout when not ready
  std::uint32_t HeaderLengthLocked() const;
  // §4 readiness and the read-timeout callout, evaluated as poll() would.
  void EvaluateLocked();
  void PublishReadinessLocked();
  void StopFeed();  // joins the feed thread; needs config_mutex_ but not mutex_

  const int event_fd_;
  // The model's own duplicate of the eventfd. Readiness is written through it, so a close
  // the model did not see (a raw close syscall) can never make it write into whatever file
  // reuses the user's fd number.
  int shadow_fd_ = -1;

  // Serialises ioctl, read set-up and close, like FreeBSD's global BPF_LOCK; never held by
  // the feed thread, so it can be held while joining that thread.
  std::mutex config_mutex_;
  // bd_lock: everything the feed thread touches.
  std::mutex mutex_;
  std::condition_variable readers_;  // bpfread sleepers (wakeup(d))
  int sleeping_readers_ = 0;         // threads blocked in Read(): they are not polling

  bool closed_ = false;
  bool event_signalled_ = false;  // the event fd currently reads as readable
  const Readiness readiness_;     // BPF_MODEL_READINESS, read at open
  std::vector<int> registrations_;  // epoll instances watching the fd for EPOLLIN
  bool knote_active_ = false;       // kKqueue: the knote is on its kqueue's active list

  // Buffers (§3, §4). Slots point into buffers_.
  unsigned buffer_mode_ = bsd::kBufModeBuffer;
  std::unique_ptr<Buffer> buffers_[2];
  Buffer* store_ = nullptr;  // bd_sbuf
  Buffer* hold_ = nullptr;   // bd_hbuf
  Buffer* free_ = nullptr;   // bd_fbuf
  std::uint32_t store_len_ = 0;  // bd_slen
  std::uint32_t hold_len_ = 0;   // bd_hlen
  std::uint32_t buffer_size_;    // bd_bufsize
  // bd_hbuf_in_use: bpfread is copying the hold buffer out with the lock dropped.
  bool hold_in_use_ = false;
  std::condition_variable hold_released_;  // wakeup(&d->bd_hbuf_in_use)

  // Attachment.
  bool attached_ = false;  // bd_bif != NULL
  Interface interface_;
  std::unique_ptr<Feed> feed_;
  int writer_ = 0;            // bd_writer (§8.15)
  bool on_writer_list_ = false;
  bool promiscuous_ = false;

  // Settings (§3 defaults after open).
  std::vector<bsd::Insn> read_filter_;
  std::vector<bsd::Insn> write_filter_;
  unsigned direction_ = bsd::kDirectionInOut;
  unsigned timestamp_type_ = kTstampMicrotime;
  bool immediate_ = false;
  bool locked_ = false;
  unsigned header_complete_ = 0;
  unsigned feedback_ = 0;
  unsigned signal_ = 23;  // SIGIO on FreeBSD
  int async_ = 0;
  int owner_ = 0;
  unsigned vlan_priority_ = 0;
  const bool readable_;  // opened with FREAD

  // Read timeout (§4 "BIOCSRTIMEOUT in ZBUF mode"): bd_rtout in 1 ms ticks (hz = 1000).
  std::uint32_t timeout_ticks_ = 0;
  TimeoutState timeout_state_ = TimeoutState::kIdle;
  Clock::time_point timeout_deadline_{};

  // Counters (§3 BIOCGSTATS): 64-bit, truncated to u_int when reported.
  std::uint64_t received_ = 0;  // bd_rcount
  std::uint64_t dropped_ = 0;   // bd_dcount
};

}  // namespace zbpf::model
