// The bpf_d buffer state machine: catchpacket, rotation, hand-over to user space, lazy
// reclaim, reset_d, bpf_ready and the read-timeout callout (§4, §5 of docs/freebsd-kernel.md).
#include "descriptor.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "filter.h"
#include "real_libc.h"
#include "sysctl.h"
#include "timestamp.h"

namespace zbpf::model {
namespace {

// SIZEOF_BPF_HDR: offsetof(bh_hdrlen) + sizeof(bh_hdrlen) = 26 on LP64 for both bpf_hdr and
// bpf_xhdr (§1).
constexpr std::uint32_t kSizeofBpfHdr = offsetof(bsd::ExtendedHeader, hdrlen) + sizeof(std::uint16_t);
static_assert(kSizeofBpfHdr == 26);

// BPF_MODEL_READINESS: "poll", or "kqueue" (the default: libuv uses kqueue on FreeBSD).
Descriptor::Readiness ReadinessFromEnvironment() {
  const char* value = std::getenv("BPF_MODEL_READINESS");
  if (value == nullptr || *value == '\0' || std::strcmp(value, "kqueue") == 0) return Descriptor::Readiness::kKqueue;
  if (std::strcmp(value, "poll") == 0) return Descriptor::Readiness::kPoll;
  Trace("BPF_MODEL_READINESS=%s is neither poll nor kqueue: using kqueue", value);
  return Descriptor::Readiness::kKqueue;
}

}  // namespace

Descriptor::Descriptor(int event_fd, bool readable, bool write_only)
    : event_fd_(event_fd),
      readiness_(ReadinessFromEnvironment()),
      // §3 "bd_bufsize = net.bpf.bufsize" (bpf_buffer_init at open).
      buffer_size_(static_cast<std::uint32_t>(sysctl::BufSize())),
      // §3 opened without FREAD (O_WRONLY): writer-only (bd_writer = 2).
      writer_(write_only ? 2 : 0),
      readable_(readable) {
  shadow_fd_ = fcntl(event_fd, F_DUPFD_CLOEXEC, 0);
  if (shadow_fd_ < 0) Trace("fd %d: no shadow eventfd (%s): writing through the user's fd", event_fd, std::strerror(errno));
}

Descriptor::~Descriptor() {
  if (shadow_fd_ >= 0 && libc::Close(shadow_fd_) != 0) Trace("close(shadow eventfd): %s", std::strerror(errno));
}

bool Descriptor::SameOpenFile(int fd) const {
  if (shadow_fd_ < 0) return true;
  const long same = syscall(SYS_kcmp, static_cast<long>(getpid()), static_cast<long>(getpid()), 0L /* KCMP_FILE */,
                            static_cast<long>(fd), static_cast<long>(shadow_fd_));
  return same != 1 && same != 2;  // 0: same file; 1/2: ordered differently; -1: kcmp unavailable
}

void Descriptor::Close() {
  std::lock_guard<std::mutex> config(config_mutex_);
  {
    // §8.12 bpf_dtor: stop the callout, detach, wake any sleeper.
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    attached_ = false;
    timeout_state_ = TimeoutState::kIdle;
    readers_.notify_all();
  }
  StopFeed();
  // Nothing can write packets any more: drop the buffers and the model's mappings of the
  // user's memory. The user's own mappings are never touched (§8.12 "The kernel never
  // unmaps user memory"). FreeBSD cannot run bpf_dtor during a read (the read holds a
  // reference to the file); here a read copying the hold buffer out is waited for instead.
  std::unique_lock<std::mutex> lock(mutex_);
  WaitHoldBufferLocked(lock);
  store_ = hold_ = free_ = nullptr;
  buffers_[0].reset();
  buffers_[1].reset();
}

void Descriptor::StopFeed() { feed_.reset(); }

// ---------------------------------------------------------------------------------------
// Packet path (feed thread)

void Descriptor::Tap(const std::uint8_t* packet, std::uint32_t buflen, std::uint32_t wirelen, bool outbound,
                     const timespec& stamp) {
  std::lock_guard<std::mutex> lock(mutex_);
  // §8.15: a descriptor on the writer-only list receives nothing, not even bs_recv.
  if (closed_ || !attached_ || on_writer_list_) return;
  // BPF_CHECK_DIRECTION in bpf_mtap: skip before counting (§3 BIOCGSTATS "after the
  // direction check, before the filter").
  if (direction_ == bsd::kDirectionIn && outbound) return;
  if (direction_ == bsd::kDirectionOut && !outbound) return;
  ++received_;
  const std::uint32_t snaplen = RunFilter(read_filter_, packet, wirelen, buflen);
  if (snaplen != 0) CatchPacketLocked(packet, buflen, wirelen, snaplen, stamp);
  EvaluateLocked();
}

void Descriptor::AccountLostPackets(std::uint32_t count) {
  // Packets the model's socket lost were seen by no filter; FreeBSD taps synchronously and
  // would have counted them, so they are reported as received and dropped.
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_ || !attached_ || on_writer_list_) return;
  received_ += count;
  dropped_ += count;
}

void Descriptor::InterfaceDeparted() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_ || !attached_) return;
  Trace("fd %d: interface %s departed", event_fd_, interface_.name.c_str());
  // §8.10 bpfdetach → bpf_detachd_locked(d, true): bd_bif = NULL and a wakeup. bd_promisc is
  // left as it was (only a non-departure detach clears it), so a later BIOCPROMISC after
  // re-attaching is a no-op, as in FreeBSD.
  attached_ = false;
  // bpfpoll answers POLLIN at once for a detached descriptor; a knote is only evaluated by the
  // KNOTE in this bpf_wakeup, and filt_bpfread answers bpf_ready() alone (no EV_EOF).
  WakeupLocked();
  PublishReadinessLocked();
}

void Descriptor::Tick() {
  std::lock_guard<std::mutex> lock(mutex_);
  EvaluateLocked();
}

// catchpacket() in bpf.c (§4 triggers 1 and 2, §5 layout).
void Descriptor::CatchPacketLocked(const std::uint8_t* packet, std::uint32_t available, std::uint32_t wirelen,
                                   std::uint32_t snaplen, const timespec& stamp) {
  if (!attached_) {  // §8.10 catchpacket, if it races with the detach, drops the packet
    ++dropped_;
    return;
  }
  // §4 "When the kernel sees the user's ack": lazily, at the start of catchpacket.
  if (free_ == nullptr && CanFreeHoldBufferLocked()) ReclaimHoldBufferLocked();

  // §5 Truncation: caplen = min(snaplen, packet length), and hdrlen + caplen <= bufsize.
  const std::uint32_t hdrlen = HeaderLengthLocked();
  std::uint64_t totlen = hdrlen + std::min(snaplen, wirelen);
  if (totlen > buffer_size_) totlen = buffer_size_;
  // The model received at most `available` bytes of the frame (a 256 KiB receive buffer);
  // FreeBSD has the whole mbuf chain. Only frames beyond that size differ.
  if (totlen - hdrlen > available) totlen = hdrlen + available;

  std::uint32_t curlen = WordAlign(store_len_);
  bool do_wakeup = false;
  if (curlen + totlen > buffer_size_ || !CanWriteStoreBufferLocked()) {
    if (free_ == nullptr) {
      // §4 trigger 2: no room and no free buffer. Hand the store buffer over in place
      // (bpf_buffull), drop the packet, and issue no wakeup.
      if (buffer_mode_ == bsd::kBufModeZbuf) HandOverLocked(store_, store_len_);
      ++dropped_;
      return;
    }
    // §4 trigger 1: ROTATE_BUFFERS (hands the old store buffer over), then a wakeup.
    RotateBuffersLocked();
    do_wakeup = true;
    curlen = 0;
  } else {
    // §4 Wakeups: on every packet appended while in immediate mode or in TIMED_OUT state.
    if (immediate_ || timeout_state_ == TimeoutState::kTimedOut) do_wakeup = true;
    // §1 Padding between records is zero-filled.
    static const std::uint8_t zeroes[bsd::kAlignment] = {};
    if (curlen > store_len_) AppendLocked(store_, store_len_, zeroes, curlen - store_len_);
  }

  const auto caplen = static_cast<std::uint32_t>(totlen - hdrlen);
  // §1 "Which header the kernel writes": bpf_hdr (timeval) for NONE and MICROTIME formats,
  // bpf_xhdr (bpf_ts) otherwise. On LP64 both have the layout of ExtendedHeader: timeval is
  // {int64 sec, long usec}, bpf_ts is {int64 sec, uint64 frac}.
  bsd::ExtendedHeader header;
  std::memset(&header, 0, sizeof header);  // §1 zeroes a full struct header
  header.tstamp = ConvertTimestamp(stamp, timestamp_type_);
  header.caplen = caplen;
  header.datalen = wirelen;  // §5 bh_datalen = the original wire length
  header.hdrlen = static_cast<std::uint16_t>(hdrlen);
  // The kernel copies the whole 32-byte struct and lets the packet overwrite its tail
  // (§1). A record whose caplen is under 6 bytes at the very end of the buffer would make
  // that copy run past bufsize; the model clips the copy there instead of writing out of
  // bounds. The bytes a reader may look at are identical.
  const std::uint32_t header_bytes = std::min<std::uint32_t>(sizeof header, buffer_size_ - curlen);
  AppendLocked(store_, curlen, &header, header_bytes);
  AppendLocked(store_, curlen + hdrlen, packet, caplen);
  store_len_ = curlen + static_cast<std::uint32_t>(totlen);

  if (do_wakeup) WakeupLocked();
}

void Descriptor::AppendLocked(Buffer* buffer, std::uint32_t offset, const void* src, std::uint32_t len) {
  if (buffer == nullptr || static_cast<std::uint64_t>(offset) + len > buffer_size_) {
    Trace("fd %d: append of %u bytes at %u outside a %u-byte buffer ignored", event_fd_, len, offset, buffer_size_);
    return;
  }
  // §5: ZBUF records go after the 32-byte header (records already points there).
  std::memcpy(buffer->records + offset, src, len);
}

// ROTATE_BUFFERS (bpfdesc.h): store → hold, free → store, then bpf_bufheld (§4).
void Descriptor::RotateBuffersLocked() {
  hold_ = store_;
  hold_len_ = store_len_;
  store_ = free_;
  store_len_ = 0;
  free_ = nullptr;
  if (buffer_mode_ == bsd::kBufModeZbuf) HandOverLocked(hold_, hold_len_);
}

// §4 "Handing a buffer to the user" (bpf_zerocopy_bufheld / bpf_zerocopy_buffull): once per
// buffer: set ASSIGNED, plain store of kernel_len, then a release increment of kernel_gen.
void Descriptor::HandOverLocked(Buffer* buffer, std::uint32_t len) {
  if (buffer == nullptr || buffer->assigned) return;  // "a buffer is never announced twice"
  buffer->assigned = true;
  bsd::ZbufHeader* header = buffer->zbuf->header();
  header->kernel_len = len;
  // §6: atomic_add_rel_int, a release so that the records and kernel_len are visible
  // before the new generation.
  __atomic_fetch_add(&header->kernel_gen, 1u, __ATOMIC_RELEASE);
}

// bpf_zerocopy_canfreebuf (§4): a hold buffer exists and user_gen (acquire load) equals
// kernel_gen. Buffer mode never frees a hold buffer this way.
bool Descriptor::CanFreeHoldBufferLocked() const {
  if (buffer_mode_ != bsd::kBufModeZbuf || hold_ == nullptr) return false;
  bsd::ZbufHeader* header = hold_->zbuf->header();
  return header->kernel_gen == __atomic_load_n(&header->user_gen, __ATOMIC_ACQUIRE);
}

// bpf_zerocopy_canwritebuf (§4): the store buffer is not ASSIGNED. With no buffers at all
// (BIOCFLUSH before BIOCSETZBUF) FreeBSD would dereference NULL here; the model answers
// "writable", which only clears a length that is already 0.
bool Descriptor::CanWriteStoreBufferLocked() const {
  if (buffer_mode_ != bsd::kBufModeZbuf || store_ == nullptr) return true;
  return !store_->assigned;
}

// hold → free, then bpf_zerocopy_buf_reclaimed clears ASSIGNED (§4).
void Descriptor::ReclaimHoldBufferLocked() {
  free_ = hold_;
  hold_ = nullptr;
  hold_len_ = 0;
  if (free_ != nullptr) free_->assigned = false;
}

// The `while (d->bd_hbuf_in_use) mtx_sleep(...)` loops of bpf.c (bpfread, reset_d, the
// FIONREAD case of bpfioctl): wait until a concurrent bpfread has copied the hold buffer out.
void Descriptor::WaitHoldBufferLocked(std::unique_lock<std::mutex>& lock) {
  hold_released_.wait(lock, [this] { return !hold_in_use_; });
}

// bpf.c: bpfioctl(), case FIONREAD: bd_slen is read first, then the descriptor waits out a
// read in progress, then adds bd_hlen if a hold buffer (still) exists. A zero-copy hold
// buffer the user has acknowledged still counts until catchpacket or reset_d reclaims it.
int Descriptor::ReadableBytesLocked(std::unique_lock<std::mutex>& lock) {
  std::uint32_t n = store_len_;
  WaitHoldBufferLocked(lock);
  if (hold_ != nullptr) n += hold_len_;
  return static_cast<int>(n);
}

// reset_d (§3 BIOCFLUSH): free the hold buffer only if acknowledged (ZBUF) or always
// (BUFFER); discard store data only if that buffer is not user-owned; zero the counters.
void Descriptor::ResetLocked(std::unique_lock<std::mutex>& lock) {
  WaitHoldBufferLocked(lock);  // bpf.c: reset_d() sleeps while bd_hbuf_in_use
  if (hold_ != nullptr && (buffer_mode_ != bsd::kBufModeZbuf || CanFreeHoldBufferLocked())) {
    ReclaimHoldBufferLocked();
  }
  if (CanWriteStoreBufferLocked()) store_len_ = 0;
  received_ = 0;
  dropped_ = 0;
}

// bpf_ready (§4 "Readiness"): (a) an unacknowledged hold buffer with data, or (b) immediate
// mode or TIMED_OUT, with data in the store buffer.
bool Descriptor::ReadyLocked() const {
  if (!CanFreeHoldBufferLocked() && hold_len_ != 0) return true;
  return (immediate_ || timeout_state_ == TimeoutState::kTimedOut) && store_len_ != 0;
}

// bpf.c: bpf_wakeup(): cancels a pending callout, wakes sleepers, selwakeup for pollers (who
// see it through the evaluation that follows every model entry point), then
// KNOTE_LOCKED(&d->bd_sel.si_note, 0): each registered knote runs filt_bpfread, and is
// activated if that answers true (kern_event.c: knote()); an active knote stays active.
void Descriptor::WakeupLocked() {
  if (timeout_state_ == TimeoutState::kWaiting) timeout_state_ = TimeoutState::kIdle;
  readers_.notify_all();
  if (readiness_ == Readiness::kKqueue && !registrations_.empty() && FilterReadLocked()) knote_active_ = true;
}

// bpf.c: filt_bpfread(): bpf_ready(); when not ready and a read timeout is set, arms the
// callout from BPF_IDLE (callout_reset, BPF_WAITING). A detached descriptor gets no EV_EOF.
bool Descriptor::FilterReadLocked() {
  const bool ready = ReadyLocked();
  if (!ready && timeout_ticks_ > 0 && timeout_state_ == TimeoutState::kIdle) {
    timeout_state_ = TimeoutState::kWaiting;
    timeout_deadline_ = Clock::now() + std::chrono::milliseconds(timeout_ticks_);
  }
  return ready;
}

// kern_event.c: kqueue_register() runs the filter of a knote it adds (EV_ADD; libuv adds
// EVFILT_READ whenever uv_poll_start follows a stop) and activates it if that answers true.
// Removing the last registration (EV_DELETE) drops the knote.
void Descriptor::Register(int epfd, bool reading) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return;
  auto it = std::find(registrations_.begin(), registrations_.end(), epfd);
  if (!reading) {
    if (it != registrations_.end()) registrations_.erase(it);
    if (registrations_.empty()) knote_active_ = false;
    Trace("fd %d: reader unregistered from epoll fd %d", event_fd_, epfd);
  } else {
    if (it == registrations_.end()) registrations_.push_back(epfd);
    if (readiness_ == Readiness::kKqueue && FilterReadLocked()) knote_active_ = true;
    Trace("fd %d: reader registered on epoll fd %d, knote %s", event_fd_, epfd, knote_active_ ? "active" : "inactive");
  }
  EvaluateLocked();
}

// bpf_hdrlen (§1): BPF_WORDALIGN(h + 26) - h, i.e. 26 for Ethernet, 32 for h = 0.
std::uint32_t Descriptor::HeaderLengthLocked() const {
  const std::uint32_t h = interface_.link_hdrlen;
  return WordAlign(h + kSizeofBpfHdr) - h;
}

// The callout (bpf_timed_out) and the part of readiness the model must evaluate by itself,
// after every model entry point and on the feed thread's ~1 ms tick.
// poll: what bpfpoll() would do if called now. The model cannot see the user's poll calls, so
// it assumes a poller is always present: when not ready and a read timeout is set, the
// callout is armed. A thread blocked in read(2) is not polling and arms nothing.
// kqueue: the scan of kern_event.c: kqueue_scan(): an active level-triggered knote is
// re-evaluated (filt_bpfread, which arms the callout when not ready) and leaves the active
// list once it answers false; an inactive knote is evaluated only by KNOTE or registration.
void Descriptor::EvaluateLocked() {
  if (closed_) return;
  const Clock::time_point now = Clock::now();
  // bpf.c: bpf_timed_out(): WAITING becomes TIMED_OUT, with a wakeup if the store has data.
  if (timeout_state_ == TimeoutState::kWaiting && now >= timeout_deadline_) {
    timeout_state_ = TimeoutState::kTimedOut;
    if (store_len_ != 0) WakeupLocked();
  }
  if (readiness_ == Readiness::kKqueue) {
    if (knote_active_ && !FilterReadLocked()) {
      knote_active_ = false;
      Trace("fd %d: knote left the active list", event_fd_);
    }
  } else if (attached_ && timeout_ticks_ > 0 && timeout_state_ == TimeoutState::kIdle && sleeping_readers_ == 0 &&
             !ReadyLocked()) {
    timeout_state_ = TimeoutState::kWaiting;
    timeout_deadline_ = now + std::chrono::milliseconds(timeout_ticks_);
  }
  PublishReadinessLocked();
}

// Level-correct mirror on the eventfd: counter 1 while readable, 0 otherwise. poll: bpfpoll
// answers POLLIN for an unattached descriptor, bpf_ready() otherwise. kqueue: the knote is active.
void Descriptor::PublishReadinessLocked() {
  if (closed_) return;
  const bool readable = readiness_ == Readiness::kKqueue ? knote_active_ : !attached_ || ReadyLocked();
  if (readable == event_signalled_) return;
  std::uint64_t value = 1;
  // Only the model reads or writes the counter, so it is exactly 1 when signalled and the
  // drain never blocks, whatever O_NONBLOCK the user set on the fd.
  const int fd = shadow_fd_ >= 0 ? shadow_fd_ : event_fd_;
  const ssize_t n = readable ? ::write(fd, &value, sizeof value) : libc::Read(fd, &value, sizeof value);
  if (n == static_cast<ssize_t>(sizeof value)) {
    event_signalled_ = readable;
  } else {
    Trace("fd %d: eventfd %s failed: %s", event_fd_, readable ? "write" : "read", std::strerror(errno));
  }
}

// bpf_buffer_ioctl_sblen after clamping: two kernel buffers (bpf_buffer.c allocates the
// free and store buffers; the hold slot starts empty).
int Descriptor::AllocateKernelBuffers(std::uint32_t size) {
  auto store = std::make_unique<Buffer>();
  auto spare = std::make_unique<Buffer>();
  store->heap.reset(new std::uint8_t[size]());
  spare->heap.reset(new std::uint8_t[size]());
  store->records = store->heap.get();
  spare->records = spare->heap.get();
  std::lock_guard<std::mutex> lock(mutex_);
  if (attached_) return EINVAL;  // "Interface already attached, unable to change buffers"
  store_ = hold_ = free_ = nullptr;
  buffers_[0] = std::move(store);
  buffers_[1] = std::move(spare);
  store_ = buffers_[0].get();
  free_ = buffers_[1].get();
  buffer_size_ = size;
  store_len_ = 0;
  hold_len_ = 0;
  return 0;
}

}  // namespace zbpf::model
