// bpfioctl() and the part of FreeBSD's generic ioctl layer in front of it (docs/freebsd-kernel.md §2, §3).
#include <fcntl.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <vector>

#include "descriptor.h"
#include "filter.h"
#include "sysctl.h"
#include "timestamp.h"
#include "usercopy.h"

namespace zbpf::model {
namespace {

template <typename T>
T& As(unsigned char* arg) {
  return *reinterpret_cast<T*>(arg);
}

// §3 BIOCLOCK: the requests a locked descriptor still accepts; everything else is EPERM.
bool AllowedWhileLocked(unsigned long request) {
  switch (request) {
    case bsd::kBIOCGBLEN: case bsd::kBIOCFLUSH: case bsd::kBIOCGDLT: case kBIOCGDLTLIST:
    case bsd::kBIOCGETIF: case kBIOCGRTIMEOUT: case bsd::kBIOCGSTATS: case bsd::kBIOCVERSION:
    case kBIOCGRSIG: case kBIOCGHDRCMPLT: case bsd::kBIOCSTSTAMP: case kBIOCFEEDBACK:
    case bsd::kFIONREAD: case kBIOCLOCK: case bsd::kBIOCSRTIMEOUT: case bsd::kBIOCIMMEDIATE:
    case bsd::kBIOCROTZBUF:
      return true;
    default:
      return false;
  }
}

// kern_ioctl rejects malformed encodings before any driver sees them [inference; FreeBSD
// sys_generic.c]: a data direction with no length, or a length over IOCPARM_MAX.
bool WellFormed(unsigned long request) {
  const std::size_t len = IocLen(request);
  if ((IocIn(request) || IocOut(request)) && len == 0) return false;
  return len <= bsd::kIocParmMask;
}

}  // namespace

int Descriptor::Ioctl(unsigned long request, void* user_arg) {
  std::lock_guard<std::mutex> config(config_mutex_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return EBADF;
  }
  if (!WellFormed(request)) return ENOTTY;
  // Generic layer: FIOCLEX / FIONCLEX never reach the driver.
  if (request == kFIOCLEX || request == kFIONCLEX) {
    return fcntl(event_fd_, F_SETFD, request == kFIOCLEX ? FD_CLOEXEC : 0) == 0 ? 0 : errno;
  }
  // Generic layer: copy in IOC_IN arguments (EFAULT on a bad pointer), zero IOC_OUT ones.
  const std::size_t len = IocLen(request);
  std::vector<unsigned char> arg(len, 0);
  if (IocIn(request) && len != 0) {
    if (CopyIn(user_arg, arg.data(), len) != 0) return EFAULT;
  }
  // Generic layer: FIONBIO sets the file's non-blocking flag, which bpfread consults,
  // then passes the request on to the driver.
  if (request == kFIONBIO) {
    const int flags = fcntl(event_fd_, F_GETFL);
    if (flags < 0) return errno;
    const int wanted = As<int>(arg.data()) != 0 ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
    if (fcntl(event_fd_, F_SETFL, wanted) != 0) return errno;
  }
  int error = Dispatch(request, arg.data());
  if (error == 0 && IocOut(request) && len != 0) error = CopyOut(arg.data(), user_arg, len);
  Trace("fd %d: ioctl 0x%lx -> %d", event_fd_, request, error);
  std::lock_guard<std::mutex> lock(mutex_);
  EvaluateLocked();  // every intercepted call re-evaluates readiness
  return error;
}

int Descriptor::Dispatch(unsigned long request, unsigned char* arg) {
  {
    // §3 BIOCROTZBUF / §4: any ioctl cancels the callout and returns the state to IDLE.
    std::lock_guard<std::mutex> lock(mutex_);
    timeout_state_ = TimeoutState::kIdle;
  }
  if (locked_ && !AllowedWhileLocked(request)) return EPERM;  // §3 Locked descriptors

  switch (request) {
    case bsd::kFIONREAD: {  // _IOR('f', 127, int)
      std::unique_lock<std::mutex> lock(mutex_);
      As<int>(arg) = ReadableBytesLocked(lock);
      return 0;
    }
    case bsd::kBIOCGBLEN: {  // §3: bd_bufsize (stale default before SETZBUF)
      std::lock_guard<std::mutex> lock(mutex_);
      As<std::uint32_t>(arg) = buffer_size_;
      return 0;
    }
    case bsd::kBIOCSBLEN:
      return SetBufferLength(&As<std::uint32_t>(arg));
    case bsd::kBIOCSETF:
    case bsd::kBIOCSETFNR:
    case kBIOCSETWF:
      return SetFilter(request, As<bsd::Program>(arg));
    case bsd::kBIOCFLUSH: {
      std::unique_lock<std::mutex> lock(mutex_);
      ResetLocked(lock);
      return 0;
    }
    case bsd::kBIOCPROMISC:
      return EnablePromiscuous();
    case bsd::kBIOCGDLT: {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!attached_) return EINVAL;  // §3: EINVAL when no interface is attached
      As<std::uint32_t>(arg) = interface_.dlt;
      return 0;
    }
    case kBIOCGDLTLIST:
      return GetDltList(arg);
    case kBIOCSDLT: {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!attached_) return EINVAL;
      // A Linux interface offers the model one link type: setting it again is a no-op,
      // any other is EINVAL (bpf_setdlt finds no bpf_if for it).
      return As<std::uint32_t>(arg) == interface_.dlt ? 0 : EINVAL;
    }
    case bsd::kBIOCGETIF: {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!attached_) return EINVAL;  // §8.10: EINVAL, not ENXIO, after a departure
      auto& ifr = As<bsd::Ifreq>(arg);
      std::strncpy(ifr.name, interface_.name.c_str(), bsd::kIfNameSize - 1);  // strlcpy
      ifr.name[bsd::kIfNameSize - 1] = '\0';
      return 0;
    }
    case bsd::kBIOCSETIF:
      return SetInterface(As<bsd::Ifreq>(arg));
    case bsd::kBIOCSRTIMEOUT:
      return SetReadTimeout(As<bsd::Timeval>(arg));
    case kBIOCGRTIMEOUT: {  // hz = 1000: ticks are milliseconds
      std::lock_guard<std::mutex> lock(mutex_);
      auto& tv = As<bsd::Timeval>(arg);
      tv.sec = timeout_ticks_ / 1000;
      tv.usec = (timeout_ticks_ % 1000) * 1000;
      return 0;
    }
    case bsd::kBIOCGSTATS: {  // §3: 64-bit counters truncated to u_int
      std::lock_guard<std::mutex> lock(mutex_);
      auto& stats = As<bsd::Stat>(arg);
      stats.recv = static_cast<std::uint32_t>(received_);
      stats.drop = static_cast<std::uint32_t>(dropped_);
      return 0;
    }
    case bsd::kBIOCIMMEDIATE: {
      std::lock_guard<std::mutex> lock(mutex_);
      immediate_ = As<std::uint32_t>(arg) != 0;
      return 0;
    }
    case bsd::kBIOCVERSION: {
      auto& version = As<bsd::Version>(arg);
      version.major = bsd::kVersionMajor;
      version.minor = bsd::kVersionMinor;
      return 0;
    }
    case kBIOCGHDRCMPLT:
      As<std::uint32_t>(arg) = header_complete_;
      return 0;
    case kBIOCSHDRCMPLT:
      header_complete_ = As<std::uint32_t>(arg) != 0 ? 1 : 0;
      return 0;
    case kBIOCGDIRECTION: {
      std::lock_guard<std::mutex> lock(mutex_);
      As<std::uint32_t>(arg) = direction_;
      return 0;
    }
    case bsd::kBIOCSDIRECTION: {  // §3: 0, 1 or 2, anything else EINVAL
      const std::uint32_t direction = As<std::uint32_t>(arg);
      if (direction != bsd::kDirectionIn && direction != bsd::kDirectionInOut && direction != bsd::kDirectionOut) {
        return EINVAL;
      }
      std::lock_guard<std::mutex> lock(mutex_);
      direction_ = direction;
      return 0;
    }
    case bsd::kBIOCGTSTAMP: {
      std::lock_guard<std::mutex> lock(mutex_);
      As<std::uint32_t>(arg) = timestamp_type_;
      return 0;
    }
    case bsd::kBIOCSTSTAMP: {  // §1: BPF_T_VALID or EINVAL
      const std::uint32_t type = As<std::uint32_t>(arg);
      if (!TimestampTypeValid(type)) return EINVAL;
      std::lock_guard<std::mutex> lock(mutex_);
      timestamp_type_ = type;
      return 0;
    }
    case kBIOCFEEDBACK:
      feedback_ = As<std::uint32_t>(arg);
      return 0;
    case kBIOCLOCK:
      locked_ = true;
      return 0;
    case kFIONBIO:  // the generic layer already updated the file flag
      return 0;
    case kFIOASYNC:
      // Stored for completeness; the model sends no SIGIO.
      async_ = As<int>(arg);
      return 0;
    case kFIOSETOWN:
      owner_ = As<int>(arg);
      return 0;
    case kFIOGETOWN:
      As<int>(arg) = owner_;
      return 0;
    case kBIOCSRSIG: {
      const std::uint32_t sig = As<std::uint32_t>(arg);
      if (sig >= kMaxSignal) return EINVAL;
      signal_ = sig;
      return 0;
    }
    case kBIOCGRSIG:
      As<std::uint32_t>(arg) = signal_;
      return 0;
    case bsd::kBIOCGETBUFMODE: {
      std::lock_guard<std::mutex> lock(mutex_);
      As<std::uint32_t>(arg) = buffer_mode_;
      return 0;
    }
    case bsd::kBIOCSETBUFMODE:
      return SetBufferMode(As<std::uint32_t>(arg));
    case bsd::kBIOCGETZMAX: {
      std::lock_guard<std::mutex> lock(mutex_);
      if (buffer_mode_ != bsd::kBufModeZbuf) return EOPNOTSUPP;  // §3 GETZMAX
      As<std::size_t>(arg) = kMaxZbufPages * kPageSize;          // 2 MiB, not maxbufsize
      return 0;
    }
    case bsd::kBIOCSETZBUF:
      return SetZeroCopyBuffers(As<bsd::Zbuf>(arg));
    case bsd::kBIOCROTZBUF:
      return RotateZeroCopyBuffers(&As<bsd::Zbuf>(arg));
    case kBIOCSETVLANPCP:  // §2: priorities above BPF_PRIO_MAX are EINVAL
      if (As<std::uint32_t>(arg) > kMaxVlanPriority) return EINVAL;
      vlan_priority_ = As<std::uint32_t>(arg);
      return 0;
    default:
      return EINVAL;  // bpfioctl's `default: error = EINVAL` (not ENOTTY)
  }
}

// §3 BIOCSETBUFMODE: value check, then zerocopy_enable (read now), then EBUSY.
int Descriptor::SetBufferMode(unsigned mode) {
  if (mode == bsd::kBufModeZbuf) {
    if (!sysctl::ZerocopyEnable()) return EINVAL;
  } else if (mode != bsd::kBufModeBuffer) {
    return EINVAL;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (store_ != nullptr || hold_ != nullptr || free_ != nullptr || attached_) return EBUSY;
  buffer_mode_ = mode;
  return 0;
}

// §3 BIOCSBLEN: EOPNOTSUPP outside buffer mode; clamp to [BPF_MINBUFSIZE, maxbufsize] and
// allocate at once (which is what makes a later BIOCSETBUFMODE fail with EBUSY).
int Descriptor::SetBufferLength(std::uint32_t* size) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (buffer_mode_ != bsd::kBufModeBuffer) return EOPNOTSUPP;
  }
  const long max = sysctl::MaxBufSize();
  std::uint32_t wanted = *size;
  if (max >= 0 && wanted > static_cast<std::uint64_t>(max)) {
    wanted = static_cast<std::uint32_t>(max);
  } else if (wanted < kMinBufSize) {
    wanted = kMinBufSize;
  }
  const int error = AllocateKernelBuffers(wanted);
  if (error == 0) *size = wanted;  // copied out only on success
  return error;
}

// §3 BIOCSETZBUF, checks in FreeBSD's order.
int Descriptor::SetZeroCopyBuffers(const bsd::Zbuf& zbuf) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (buffer_mode_ != bsd::kBufModeZbuf) return EOPNOTSUPP;  // step 1
  }
  if (zbuf.bufa == nullptr || zbuf.bufb == nullptr) return EINVAL;  // step 2
  if (zbuf.buflen == 0) return EINVAL;                               // step 3
  // Step 4, buffer A then B; each successful setup zeroes that buffer's header, even if the
  // call then fails (zbuf_setup runs before the "already installed" check).
  std::unique_ptr<ZbufRegion> a, b;
  int error = SetupZbufRegion(zbuf.bufa, zbuf.buflen, &a);
  if (error != 0) return error;
  error = SetupZbufRegion(zbuf.bufb, zbuf.buflen, &b);
  if (error != 0) return error;
  std::lock_guard<std::mutex> lock(mutex_);
  // Step 5: buffers can be installed once, and only before BIOCSETIF.
  if (store_ != nullptr || hold_ != nullptr || free_ != nullptr || attached_) return EINVAL;
  buffers_[0] = std::make_unique<Buffer>();
  buffers_[1] = std::make_unique<Buffer>();
  buffers_[0]->records = a->records();
  buffers_[1]->records = b->records();
  buffers_[0]->zbuf = std::move(a);
  buffers_[1]->zbuf = std::move(b);
  // "bufa becomes the store buffer (filled first) and bufb the free buffer."
  store_ = buffers_[0].get();
  free_ = buffers_[1].get();
  hold_ = nullptr;
  store_len_ = 0;
  hold_len_ = 0;
  buffer_size_ = static_cast<std::uint32_t>(zbuf.buflen - bsd::kZbufHeaderSize);
  return 0;
}

// §3 BIOCROTZBUF / §4 trigger 3: zeroed answer; rotate only if the hold slot is empty and
// the store buffer holds data. An acknowledged but not yet reclaimed hold buffer still
// occupies the slot, so this is a no-op until the next packet (§8.6).
int Descriptor::RotateZeroCopyBuffers(bsd::Zbuf* answer) {
  std::memset(answer, 0, sizeof *answer);
  std::lock_guard<std::mutex> lock(mutex_);
  if (buffer_mode_ != bsd::kBufModeZbuf) return EOPNOTSUPP;
  if (hold_ == nullptr && store_len_ != 0) {
    RotateBuffersLocked();
    answer->bufa = hold_->zbuf->user_address();
    answer->buflen = hold_len_;
  }
  return 0;
}

// §3 BIOCSETIF.
int Descriptor::SetInterface(const bsd::Ifreq& request) {
  bool allocate = false;
  std::uint32_t size = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    allocate = buffer_mode_ == bsd::kBufModeBuffer && store_ == nullptr;
    size = buffer_size_;
  }
  if (allocate) {
    // Buffer mode allocates its default buffers first, before the name is even looked up.
    const long max = sysctl::MaxBufSize();
    if (max >= 0 && size > static_cast<std::uint64_t>(max)) size = static_cast<std::uint32_t>(max);
    if (size < kMinBufSize) size = kMinBufSize;
    const int error = AllocateKernelBuffers(size);
    if (error != 0) return error;
  }
  Interface wanted;
  const int error = ResolveInterface(request.name, &wanted);
  if (error != 0) return error;  // ENXIO
  bool same_interface = false;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (store_ == nullptr) return EINVAL;  // ZBUF without registered buffers
    same_interface = attached_ && wanted.ifindex == interface_.ifindex;
    if (same_interface) {
      ResetLocked(lock);  // "Setting the same interface again runs only reset_d."
      return 0;
    }
  }
  auto feed = std::make_unique<Feed>(wanted, this);
  const int open_error = feed->Open();
  if (open_error != 0) return open_error;
  // bpf_attachd: detach from the old interface first (its socket, and with it any
  // promiscuous membership, goes away; bd_promisc is cleared because it was not a departure).
  bool was_attached;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    was_attached = attached_;
    attached_ = false;
  }
  StopFeed();
  if (was_attached) promiscuous_ = false;
  // bpf.c: bpf_attachd(): op_w = V_bpf_optimize_writers || d->bd_writer, sampled at each
  // attach; a writer-only descriptor goes on bif_wlist (bpf_mtap never sees it, so not even
  // bs_recv counts) with bd_writer = 2. A read filter set before this finds bd_writer == 0 in
  // bpf_check_upgrade and changes nothing, so it does not keep the descriptor off the list.
  const bool writer_only = sysctl::OptimizeWriters() || writer_ != 0;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    attached_ = true;
    interface_ = wanted;
    on_writer_list_ = writer_only;
    if (writer_only) writer_ = 2;
    ResetLocked(lock);
    WakeupLocked();
  }
  feed_ = std::move(feed);
  feed_->Start();
  return 0;
}

// §3 filter rules; bpf.c: bpf_setf().
int Descriptor::SetFilter(unsigned long request, const bsd::Program& program) {
  const std::uint32_t flen = program.len;
  const long max = sysctl::MaxInsns();
  if ((max >= 0 && flen > static_cast<std::uint64_t>(max)) || (program.insns == nullptr && flen != 0)) return EINVAL;
  std::vector<bsd::Insn> code(flen);
  if (flen != 0) {
    if (CopyIn(program.insns, code.data(), flen * sizeof(bsd::Insn)) != 0) return EINVAL;
    if (!ValidateFilter(code)) return EINVAL;
  }
  std::unique_lock<std::mutex> lock(mutex_);
  if (request == kBIOCSETWF) {
    write_filter_ = std::move(code);
    return 0;
  }
  const bool snaplen_only = request == bsd::kBIOCSETF && flen == 1 && code[0].code == 0x06;  // BPF_RET|BPF_K
  const bool empty = code.empty();
  read_filter_ = std::move(code);
  if (request == bsd::kBIOCSETF) ResetLocked(lock);  // §8.16: SETF flushes; SETFNR does not
  // bpf.c: bpf_setf() -> bpf_check_upgrade(), for BIOCSETF and BIOCSETFNR (BIOCSETWF returned
  // above): nothing while bd_writer == 0 or for an empty program (fcode == NULL); pcap's lone
  // "ret #k" set with BIOCSETF only decrements bd_writer, upgrading when it reaches 0; any
  // other program upgrades at once. An upgrade sets bd_writer = 0 and, when attached, moves
  // the descriptor from bif_wlist to bif_dlist; unattached, it only marks it a reader.
  bool upgrade = false;
  if (writer_ != 0 && !empty) upgrade = !snaplen_only || --writer_ == 0;
  if (upgrade) {
    writer_ = 0;
    on_writer_list_ = false;
  }
  return 0;
}

// §4: bd_rtout = tvtohz(tv) - 1 ticks after itimerfix; with hz = 1000 that is the timeout
// rounded up to whole milliseconds. itimerfix rejects negative fields and usec >= 10^6.
int Descriptor::SetReadTimeout(const bsd::Timeval& tv) {
  if (tv.sec < 0 || tv.usec < 0 || tv.usec >= 1000000) return EINVAL;
  const long double ms = static_cast<long double>(tv.sec) * 1000 + (tv.usec + 999) / 1000;
  std::lock_guard<std::mutex> lock(mutex_);
  timeout_ticks_ = ms > INT_MAX ? INT_MAX : static_cast<std::uint32_t>(ms);
  return 0;
}

// BIOCPROMISC: EINVAL unattached; otherwise once per attachment.
int Descriptor::EnablePromiscuous() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!attached_) return EINVAL;
  }
  if (promiscuous_) return 0;
  const int error = feed_ != nullptr ? feed_->EnablePromiscuous() : ENXIO;
  if (error == 0) promiscuous_ = true;
  return error;
}

// BIOCGDLTLIST {u_int bfl_len; u_int *bfl_list}: one link type per Linux interface.
int Descriptor::GetDltList(unsigned char* arg) {
  unsigned dlt;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!attached_) return EINVAL;
    dlt = interface_.dlt;
  }
  auto& len = As<std::uint32_t>(arg);
  auto* list = As<std::uint32_t*>(arg + 8);
  if (list == nullptr) {
    len = 1;
    return 0;
  }
  if (len < 1) return ENOMEM;
  const std::uint32_t value = dlt;
  if (CopyOut(&value, list, sizeof value) != 0) return EFAULT;
  len = 1;
  return 0;
}

}  // namespace zbpf::model
