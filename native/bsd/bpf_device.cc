#include "bpf_device.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "bpf_ioctl.h"

namespace zbpf {

namespace fb = freebsd;

namespace {

constexpr std::size_t kDefaultBufferSize = 2 * 1024 * 1024;
constexpr std::uint16_t kRetK = 0x06;  // BPF_RET | BPF_K

std::string OpenHint(int err, const std::string& path) {
  switch (err) {
    case ENOENT:
      return path + " does not exist: this kernel has no BPF device (on Linux use the default "
                    "provider, or run under scripts/with-bpf-model to exercise the FreeBSD path)";
    case EACCES:
    case EPERM:
      return "permission denied on " + path + ": run as root, or grant your user read access "
             "to /dev/bpf* with a devfs rule (see README, \"Capturing without root\")";
    default:
      return "cannot open " + path;
  }
}

}  // namespace

Status BpfDevice::Open(const BpfOptions& options, std::unique_ptr<BpfDevice>* out) {
  std::unique_ptr<BpfDevice> device;
  Status status = OpenInMode(options, options.mode, &device);
  if (!status.ok() && options.mode == BpfMode::kAuto && device && device->zerocopy_) {
    // BIOCSETBUFMODE succeeded, so this descriptor is committed to zero-copy: buffered mode
    // needs a fresh one (bpf.c: BIOCSETBUFMODE answers EBUSY once buffers exist).
    std::string reason = Describe(status);
    device.reset();
    status = OpenInMode(options, BpfMode::kBuffered, &device);
    if (status.ok()) device->fallback_reason_ = std::move(reason);
  }
  if (!status.ok()) return status;
  status = device->ApplyOptions(options);
  if (!status.ok()) return status;
  status = device->Attach(options.interface, options.promiscuous);
  if (!status.ok()) return status;
  // After BIOCSETIF: under net.bpf.optimize_writers=1, bpf_attachd() puts the descriptor on
  // the writer-only list, and only a read filter set after attach moves it to the readers
  // (bpf.c: bpf_setf() -> bpf_check_upgrade() -> bpf_upgraded()).
  status = device->SetFilter(options.filter);
  if (!status.ok()) return status;
  *out = std::move(device);
  return Status::Ok();
}

// Up to the buffers: *out is set even on failure, so Open can tell how far it got.
Status BpfDevice::OpenInMode(const BpfOptions& options, BpfMode mode, std::unique_ptr<BpfDevice>* out) {
  out->reset(new BpfDevice());
  BpfDevice& device = **out;
  Status status = device.OpenDevice(options.device);
  if (!status.ok()) return status;
  status = device.CheckVersion();
  if (!status.ok()) return status;
  status = device.SelectMode(mode);
  if (!status.ok()) return status;
  if (mode == BpfMode::kAuto && !device.zerocopy_) {
    device.fallback_reason_ = "zero-copy BPF is disabled (sysctl net.bpf.zerocopy_enable=0)";
  }
  return device.zerocopy_ ? device.SetUpZerocopyBuffers(options.buffer_size)
                          : device.SetUpReadBuffer(options.buffer_size);
}

std::string BpfDevice::Describe(const Status& status) {
  std::string text = status.syscall + ": " + std::strerror(status.err);
  return status.hint.empty() ? text : text + " (" + status.hint + ")";
}

BpfDevice::~BpfDevice() { Close(); }

Status BpfDevice::OpenDevice(const std::string& path) {
  // O_NONBLOCK: in buffered mode read(2) must return what is there, never block the loop.
  fd_ = open(path.c_str(), O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd_ < 0) return Status::Fail(errno, "open(" + path + ")", OpenHint(errno, path));
  return Status::Ok();
}

Status BpfDevice::CheckVersion() {
  fb::Version version{};
  Status status = ZBPF_IOCTL(fd_, BIOCVERSION, &version);
  if (!status.ok()) return status;
  if (version.major != fb::kVersionMajor || version.minor < fb::kVersionMinor) {
    return Status::Fail(EPROTONOSUPPORT, "ioctl(BIOCVERSION)",
                        "the kernel's BPF version " + std::to_string(version.major) + "." +
                            std::to_string(version.minor) + " is not 1.1 or a later 1.x");
  }
  return Status::Ok();
}

Status BpfDevice::SelectMode(BpfMode mode) {
  if (mode == BpfMode::kBuffered) return Status::Ok();  // the default mode of a new descriptor (freebsd-kernel.md §3)
  unsigned zbuf = fb::kBufModeZbuf;
  Status status = ZBPF_IOCTL(fd_, BIOCSETBUFMODE, &zbuf);
  if (status.ok()) {
    zerocopy_ = true;
    return status;
  }
  // §8.2: EINVAL is how the kernel says net.bpf.zerocopy_enable=0.
  if (status.err == EINVAL && mode == BpfMode::kAuto) return Status::Ok();
  if (status.err == EINVAL) {
    status.hint = "zero-copy BPF is disabled on this host: run `sysctl net.bpf.zerocopy_enable=1` "
                  "as root (add it to /etc/sysctl.conf to keep it), or use mode 'auto' or 'buffered'";
  }
  return status;
}

Status BpfDevice::SetUpZerocopyBuffers(std::size_t requested) {
  std::size_t zmax = 0;  // size_t, all 8 bytes of it (libpcap's 4-byte variable is a bug, §7)
  Status status = ZBPF_IOCTL(fd_, BIOCGETZMAX, &zmax);
  if (!status.ok()) return status;
  std::size_t length = RoundUpToPage(requested == 0 ? std::min(kDefaultBufferSize, zmax) : requested);
  if (length > zmax) {
    return Status::Fail(ERANGE, "bufferSize",
                        "bufferSize " + std::to_string(requested) + " is too large: zero-copy buffers hold at most " +
                            std::to_string(zmax) + " bytes each (BIOCGETZMAX); ask for less, or use mode 'auto' "
                            "or 'buffered'");
  }
  for (SharedRegion& region : buffers_) {
    status = region.Map(length);
    if (!status.ok()) return status;
  }
  fb::Zbuf zbuf{buffers_[0].data(), buffers_[1].data(), length};
  return ZBPF_IOCTL(fd_, BIOCSETZBUF, &zbuf,
                    "the kernel refused the zero-copy buffers: try a smaller bufferSize, or mode 'auto' "
                    "(falls back to buffered) or 'buffered'");
}

Status BpfDevice::SetUpReadBuffer(std::size_t requested) {
  // BIOCSBLEN clamps to [BPF_MINBUFSIZE, net.bpf.maxbufsize] and answers with what it chose.
  std::uint32_t length = static_cast<std::uint32_t>(requested == 0 ? kDefaultBufferSize : requested);
  Status status = ZBPF_IOCTL(fd_, BIOCSBLEN, &length,
                             "cannot set the buffer size; the kernel's limit is sysctl net.bpf.maxbufsize");
  if (!status.ok()) return status;
  return buffers_[0].Map(length);
}

Status BpfDevice::ApplyOptions(const BpfOptions& options) {
  unsigned tstamp = fb::kTstampNanotime;
  Status status = ZBPF_IOCTL(fd_, BIOCSTSTAMP, &tstamp, "this kernel cannot give nanosecond timestamps");
  if (!status.ok()) return status;
  unsigned direction = options.direction;
  status = ZBPF_IOCTL(fd_, BIOCSDIRECTION, &direction, "direction must be 'in', 'out' or 'inout'");
  if (!status.ok()) return status;
  if (options.immediate) {
    unsigned on = 1;
    status = ZBPF_IOCTL(fd_, BIOCIMMEDIATE, &on);
    if (!status.ok()) return status;
  }
  // Nothing is captured between BIOCSETIF and the real filter: until then, reject everything.
  return SetFilter({fb::Insn{kRetK, 0, 0, 0}});
}

Status BpfDevice::SetFilter(const std::vector<fb::Insn>& program) {
  // BIOCSETFNR: no flush of what is already captured (bpf.c: bpf_setf() calls reset_d() only
  // for BIOCSETF). An empty program is sent as `ret #-1` (the same whole-packet capture as no
  // filter) because bpf_check_upgrade() lifts a writer-only descriptor only for a non-NULL one.
  static const fb::Insn kAcceptAll{kRetK, 0, 0, 0xffffffffu};
  fb::Program prog{program.empty() ? 1u : static_cast<std::uint32_t>(program.size()),
                   const_cast<fb::Insn*>(program.empty() ? &kAcceptAll : program.data())};
  return ZBPF_IOCTL(fd_, BIOCSETFNR, &prog,
                    "the kernel rejected the filter program: at most net.bpf.maxinsns instructions "
                    "(`sysctl net.bpf.maxinsns`), jumps inside the program, ending in a return");
}

Status BpfDevice::Attach(const std::string& interface, bool promiscuous) {
  fb::Ifreq ifr{};
  if (interface.empty() || interface.size() >= fb::kIfNameSize) {
    return Status::Fail(EINVAL, "ioctl(BIOCSETIF)",
                        "interface name '" + interface + "' must be 1 to 15 characters");
  }
  std::memcpy(ifr.name, interface.data(), interface.size());
  Status status = ZBPF_IOCTL(fd_, BIOCSETIF, &ifr);
  if (status.err == ENXIO) {
    status.hint = "no interface named '" + interface + "' that BPF can attach to: list them with `ifconfig -l`";
  }
  if (!status.ok()) return status;
  if (promiscuous) {
    status = ZBPF_IOCTL(fd_, BIOCPROMISC, nullptr, "cannot enable promiscuous mode on " + interface);
    if (!status.ok()) return status;
  }
  std::uint32_t dlt = 0;
  status = ZBPF_IOCTL(fd_, BIOCGDLT, &dlt);
  link_type_ = dlt;
  return status;
}

Status BpfDevice::Rotate(int* handed_over) {
  fb::Zbuf answer{};
  Status status = ZBPF_IOCTL(fd_, BIOCROTZBUF, &answer);
  if (!status.ok()) return status;
  *handed_over = answer.bufa == buffers_[0].data() ? 0 : answer.bufa == buffers_[1].data() ? 1 : -1;
  return status;
}

Status BpfDevice::Pending(int* bytes) { return ZBPF_IOCTL(fd_, FIONREAD, bytes); }

Status BpfDevice::Read(unsigned char* into, std::size_t* length) {
  ssize_t n = read(fd_, into != nullptr ? into : buffers_[0].data(), buffers_[0].length());
  if (n >= 0) {
    *length = static_cast<std::size_t>(n);
    return Status::Ok();
  }
  *length = 0;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return Status::Ok();
  return Status::Fail(errno, "read(/dev/bpf)");
}

Status BpfDevice::Stats(fb::Stat* stats) { return ZBPF_IOCTL(fd_, BIOCGSTATS, stats); }

Status BpfDevice::Attached(bool* attached) {
  fb::Ifreq ifr{};
  Status status = ZBPF_IOCTL(fd_, BIOCGETIF, &ifr);
  *attached = status.ok();
  return status.err == EINVAL ? Status::Ok() : status;
}

Status BpfDevice::CloseDescriptor() {
  if (fd_ < 0) return Status::Ok();
  int rc = close(fd_);
  int err = errno;
  fd_ = -1;
  return rc == 0 ? Status::Ok() : Status::Fail(err, "close(/dev/bpf)");
}

Status BpfDevice::Close() {
  Status status = CloseDescriptor();
  for (SharedRegion& region : buffers_) region.Unmap();
  return status;
}

}  // namespace zbpf
