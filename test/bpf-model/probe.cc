// probe: drives the raw /dev/bpf syscall contract under the model (or a real FreeBSD
// kernel) and prints "key=value" facts that test/bpf-model.test.ts asserts on.
//
//   probe SCENARIO [--if NAME] [--send CMD] [--send-out CMD]
//
// --send CMD     command prefix that sends frames *to* the capture interface (from the peer);
//                the probe appends "COUNT FIRSTSEQ FRAMESIZE 0"
// --send-out CMD same, sending *out of* the capture interface (outbound frames)
// Scenarios: errors, setbufmode, rotation, fionread, kqueue, kqueue_detach, isolation, filter,
// writers_order, direction, loopback, buffered, timeout, detach,
// promisc, unmap, writers, timestamps, stress.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "../../native/abi/freebsd_bpf.h"

namespace {

namespace bsd = zbpf::freebsd;

constexpr std::size_t kPage = 4096;
constexpr unsigned long kBIOCGRTIMEOUT = bsd::Ioc(bsd::kIocOut, 'B', 110, sizeof(bsd::Timeval));
constexpr unsigned long kBIOCLOCK = bsd::Ioc(bsd::kIocVoid, 'B', 122, 0);
constexpr unsigned long kBIOCSETWF = bsd::Ioc(bsd::kIocIn, 'B', 123, sizeof(bsd::Program));
constexpr unsigned long kBIOCUNKNOWN = bsd::Ioc(bsd::kIocVoid, 'B', 200, 0);
constexpr unsigned long kFIONBIO = bsd::Ioc(bsd::kIocIn, 'f', 126, sizeof(int));

std::string g_if = "lo";
std::string g_send;
std::string g_send_out;

// ---------------------------------------------------------------------------------------
// Output

void Fact(const std::string& key, const std::string& value) { std::printf("%s=%s\n", key.c_str(), value.c_str()); }
void Fact(const std::string& key, long long value) { Fact(key, std::to_string(value)); }

const char* ErrName(int e) {
  switch (e) {
    case 0: return "0";
    case EINVAL: return "EINVAL";
    case EBUSY: return "EBUSY";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EFAULT: return "EFAULT";
    case ENXIO: return "ENXIO";
    case EACCES: return "EACCES";
    case ENOENT: return "ENOENT";
    case EPERM: return "EPERM";
    case EAGAIN: return "EAGAIN";
    case EBADF: return "EBADF";
    case ENOTTY: return "ENOTTY";
    case ENOMEM: return "ENOMEM";
    default: return "E?";
  }
}

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "probe: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

// ---------------------------------------------------------------------------------------
// Syscall wrappers: 0 or errno

int Ioctl(int fd, unsigned long request, void* arg) { return ioctl(fd, request, arg) == 0 ? 0 : errno; }
int IoctlU(int fd, unsigned long request, unsigned value) { return Ioctl(fd, request, &value); }

int OpenBpf(int flags = O_RDWR | O_NONBLOCK | O_CLOEXEC) {
  int fd = open("/dev/bpf", flags);
  if (fd < 0) Die("open /dev/bpf");
  return fd;
}

int OpenErrno(int flags) {
  int fd = open("/dev/bpf", flags);
  if (fd >= 0) {
    close(fd);
    return 0;
  }
  return errno;
}

void CloseFd(int fd) {
  if (close(fd) != 0) Die("close");
}

int ReadErrno(int fd, std::size_t len) {
  std::vector<unsigned char> buf(len + 1);
  return read(fd, buf.data(), len) >= 0 ? 0 : errno;
}

bool Readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  int n = poll(&p, 1, timeout_ms);
  if (n < 0) Die("poll");
  return n == 1 && (p.revents & POLLIN) != 0;
}

void SleepMs(int ms);

// The model notices an ack (a plain store) on its ~1 ms tick, not at once: wait up to
// `timeout_ms` for the fd to stop polling readable.
bool EventuallyUnreadable(int fd, int timeout_ms) {
  for (int i = 0; i < timeout_ms; ++i) {
    if (!Readable(fd, 0)) return true;
    SleepMs(1);
  }
  return !Readable(fd, 0);
}

void SleepMs(int ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

timespec Now(clockid_t clock = CLOCK_REALTIME) {
  timespec ts{};
  if (clock_gettime(clock, &ts) != 0) Die("clock_gettime");
  return ts;
}

long long MillisSince(const timespec& start) {
  timespec now = Now(CLOCK_MONOTONIC);
  return (now.tv_sec - start.tv_sec) * 1000LL + (now.tv_nsec - start.tv_nsec) / 1000000LL;
}

int SetIf(int fd, const std::string& name) {
  bsd::Ifreq ifr{};
  std::strncpy(ifr.name, name.c_str(), sizeof ifr.name - 1);
  return Ioctl(fd, bsd::kBIOCSETIF, &ifr);
}

bsd::Stat Stats(int fd) {
  bsd::Stat st{};
  if (Ioctl(fd, bsd::kBIOCGSTATS, &st) != 0) Die("BIOCGSTATS");
  return st;
}

// Waits (up to 3 s) until bs_recv reaches `expected`: every frame sent has then been
// through the model's catchpacket.
unsigned WaitRecv(int fd, unsigned expected) {
  for (int i = 0; i < 3000; ++i) {
    bsd::Stat st = Stats(fd);
    if (st.recv >= expected) return st.recv;
    SleepMs(1);
  }
  return Stats(fd).recv;
}

void Send(const std::string& prefix, unsigned count, unsigned first_seq, unsigned size = 64, unsigned rate = 0) {
  if (prefix.empty()) {
    std::fprintf(stderr, "probe: no sender given\n");
    std::exit(2);
  }
  std::string cmd = "env -u LD_PRELOAD " + prefix + " " + std::to_string(count) + " " + std::to_string(first_seq) +
                    " " + std::to_string(size) + " " + std::to_string(rate) + " >/dev/null";
  if (std::system(cmd.c_str()) != 0) {
    std::fprintf(stderr, "probe: sender failed: %s\n", cmd.c_str());
    std::exit(1);
  }
}

// ---------------------------------------------------------------------------------------
// Zero-copy buffers

struct Zbufs {
  unsigned char* a = nullptr;
  unsigned char* b = nullptr;
  std::size_t len = 0;
};

unsigned char* MapBuffer(std::size_t len, int flags = MAP_SHARED | MAP_ANONYMOUS, int prot = PROT_READ | PROT_WRITE) {
  void* p = mmap(nullptr, len, prot, flags, -1, 0);
  if (p == MAP_FAILED) Die("mmap");
  return static_cast<unsigned char*>(p);
}

Zbufs MapZbufs(std::size_t len, int flags = MAP_SHARED | MAP_ANONYMOUS) {
  Zbufs z;
  z.len = len;
  z.a = MapBuffer(len, flags);
  z.b = MapBuffer(len, flags);
  std::memset(z.a, 0xff, len);  // shows which bytes SETZBUF zeroes
  std::memset(z.b, 0xff, len);
  return z;
}

void UnmapZbufs(const Zbufs& z) {
  if (munmap(z.a, z.len) != 0 || munmap(z.b, z.len) != 0) Die("munmap");
}

int SetZbuf(int fd, void* a, void* b, std::size_t len) {
  bsd::Zbuf z{a, b, len};
  return Ioctl(fd, bsd::kBIOCSETZBUF, &z);
}

bsd::ZbufHeader* Header(unsigned char* buf) { return reinterpret_cast<bsd::ZbufHeader*>(buf); }
unsigned KernelGen(unsigned char* buf) { return __atomic_load_n(&Header(buf)->kernel_gen, __ATOMIC_ACQUIRE); }
unsigned KernelLen(unsigned char* buf) { return Header(buf)->kernel_len; }
bool UserOwned(unsigned char* buf) { return KernelGen(buf) != Header(buf)->user_gen; }
void Ack(unsigned char* buf) { __atomic_store_n(&Header(buf)->user_gen, KernelGen(buf), __ATOMIC_RELEASE); }

// A zero-copy descriptor attached to g_if: mode, buffers, nanosecond stamps, SETIF.
int OpenZbufCapture(const Zbufs& z, unsigned tstamp = bsd::kTstampNanotime) {
  int fd = OpenBpf();
  if (IoctlU(fd, bsd::kBIOCSETBUFMODE, bsd::kBufModeZbuf) != 0) Die("BIOCSETBUFMODE");
  if (SetZbuf(fd, z.a, z.b, z.len) != 0) Die("BIOCSETZBUF");
  if (IoctlU(fd, bsd::kBIOCSTSTAMP, tstamp) != 0) Die("BIOCSTSTAMP");
  return fd;
}

bsd::Zbuf Rotate(int fd) {
  bsd::Zbuf z;
  std::memset(&z, 0x5a, sizeof z);  // the kernel must zero it
  if (Ioctl(fd, bsd::kBIOCROTZBUF, &z) != 0) Die("BIOCROTZBUF");
  return z;
}

bool IsZero(const bsd::Zbuf& z) { return z.bufa == nullptr && z.bufb == nullptr && z.buflen == 0; }

// ---------------------------------------------------------------------------------------
// Records (docs/freebsd-kernel.md §5)

long FrameSeq(const unsigned char* frame, unsigned caplen) {
  if (caplen < 22 || frame[12] != 0x88 || frame[13] != 0xb5 || std::memcmp(frame + 14, "ZBPF", 4) != 0) return -1;
  return (long(frame[18]) << 24) | (long(frame[19]) << 16) | (long(frame[20]) << 8) | long(frame[21]);
}

bool Within(const timespec& t, const timespec& lo, const timespec& hi) {
  auto ns = [](const timespec& x) { return x.tv_sec * 1000000000LL + x.tv_nsec; };
  return ns(t) >= ns(lo) && ns(t) <= ns(hi);
}

// Walks [data, data + len) and prints a summary under `prefix`.
void Summarize(const std::string& prefix, const unsigned char* data, unsigned len, const timespec* t0 = nullptr,
               const timespec* t1 = nullptr, bool nanotime = true) {
  unsigned off = 0;
  int records = 0;
  long first = -1, last = -1;
  bool contiguous = true, aligned = true, padding_zero = true, in_window = true, frac_ok = true, test_frames = true;
  long hdrlen = -1, caplen = -1, datalen = -1;
  bool same_hdrlen = true, same_caplen = true, same_datalen = true;
  while (off < len) {
    if (off + 26 > len) {
      Fact(prefix + ".truncated_header", 1);
      break;
    }
    bsd::ExtendedHeader h;
    std::memcpy(&h, data + off, 26);
    if (off % 8 != 0 || reinterpret_cast<std::uintptr_t>(data + off) % 8 != 0) aligned = false;
    if (hdrlen < 0) hdrlen = h.hdrlen, caplen = h.caplen, datalen = h.datalen;
    same_hdrlen = same_hdrlen && h.hdrlen == hdrlen;
    same_caplen = same_caplen && h.caplen == caplen;
    same_datalen = same_datalen && h.datalen == datalen;
    long seq = FrameSeq(data + off + h.hdrlen, h.caplen);
    if (seq < 0) test_frames = false;
    if (first < 0) first = seq;
    else if (seq != last + 1) contiguous = false;
    last = seq;
    if (nanotime ? h.tstamp.frac >= 1000000000ULL : h.tstamp.frac >= 1000000ULL) frac_ok = false;
    if (t0 != nullptr) {
      timespec ts{static_cast<time_t>(h.tstamp.sec), static_cast<long>(nanotime ? h.tstamp.frac : h.tstamp.frac * 1000)};
      if (!Within(ts, *t0, *t1)) in_window = false;
    }
    unsigned end = off + h.hdrlen + h.caplen;
    unsigned next = (end + 7) & ~7u;
    for (unsigned i = end; i < next && i < len; ++i) padding_zero = padding_zero && data[i] == 0;
    off = next;
    ++records;
  }
  Fact(prefix + ".records", records);
  Fact(prefix + ".first", first);
  Fact(prefix + ".last", last);
  Fact(prefix + ".contiguous", contiguous);
  Fact(prefix + ".test_frames", test_frames);
  Fact(prefix + ".hdrlen", same_hdrlen ? hdrlen : -2);
  Fact(prefix + ".caplen", same_caplen ? caplen : -2);
  Fact(prefix + ".datalen", same_datalen ? datalen : -2);
  Fact(prefix + ".aligned", aligned);
  Fact(prefix + ".padding_zero", padding_zero);
  Fact(prefix + ".frac_ok", frac_ok);
  if (t0 != nullptr) Fact(prefix + ".ts_in_window", in_window);
}

void SummarizeZbuf(const std::string& prefix, unsigned char* buf, const timespec* t0 = nullptr,
                   const timespec* t1 = nullptr) {
  Fact(prefix + ".gen", KernelGen(buf));
  Fact(prefix + ".len", KernelLen(buf));
  Summarize(prefix, buf + bsd::kZbufHeaderSize, KernelLen(buf), t0, t1);
}

std::vector<bsd::Insn> Program(std::initializer_list<bsd::Insn> insns) { return std::vector<bsd::Insn>(insns); }

int SetFilter(int fd, unsigned long request, std::vector<bsd::Insn>& code) {
  bsd::Program p{static_cast<std::uint32_t>(code.size()), code.empty() ? nullptr : code.data()};
  return Ioctl(fd, request, &p);
}

constexpr std::uint16_t kRetK = 0x06, kRetA = 0x16, kLdhAbs = 0x28, kLdwAbs = 0x20, kJeqK = 0x15, kJsetK = 0x45,
                        kLdLen = 0x80, kJa = 0x05, kJgeK = 0x35, kJgtK = 0x25, kLdMem = 0x60, kDivK = 0x34;

// ---------------------------------------------------------------------------------------
// Scenarios

void ScenarioErrors() {
  // §3 /dev/bpf is root-only; a missing device is ENOENT.
  if (seteuid(65534) != 0) Die("seteuid");
  Fact("open.nonroot", ErrName(OpenErrno(O_RDWR)));
  if (seteuid(0) != 0) Die("seteuid back");
  setenv("BPF_MODEL_DEVICE", "absent", 1);
  Fact("open.absent", ErrName(OpenErrno(O_RDWR)));
  unsetenv("BPF_MODEL_DEVICE");

  int fd = OpenBpf();
  bsd::Version v{};
  Fact("version.err", ErrName(Ioctl(fd, bsd::kBIOCVERSION, &v)));
  Fact("version", std::to_string(v.major) + "." + std::to_string(v.minor));
  unsigned mode = 0, blen = 0;
  Ioctl(fd, bsd::kBIOCGETBUFMODE, &mode);
  Ioctl(fd, bsd::kBIOCGBLEN, &blen);
  Fact("default.bufmode", mode);
  Fact("default.blen", blen);
  unsigned tstamp = 99;
  Ioctl(fd, bsd::kBIOCGTSTAMP, &tstamp);
  Fact("default.tstamp", tstamp);
  Fact("unattached.poll_readable", Readable(fd, 0));
  std::size_t zmax = 0;
  Fact("buffer.getzmax", ErrName(Ioctl(fd, bsd::kBIOCGETZMAX, &zmax)));
  Zbufs z = MapZbufs(2 * kPage);
  Fact("buffer.setzbuf", ErrName(SetZbuf(fd, z.a, z.b, z.len)));
  bsd::Zbuf rot{};
  Fact("buffer.rotzbuf", ErrName(Ioctl(fd, bsd::kBIOCROTZBUF, &rot)));
  bsd::Ifreq ifr{};
  unsigned dlt = 0;
  Fact("unattached.getif", ErrName(Ioctl(fd, bsd::kBIOCGETIF, &ifr)));
  Fact("unattached.gdlt", ErrName(Ioctl(fd, bsd::kBIOCGDLT, &dlt)));
  Fact("unattached.promisc", ErrName(Ioctl(fd, bsd::kBIOCPROMISC, nullptr)));
  Fact("setbufmode.3", ErrName(IoctlU(fd, bsd::kBIOCSETBUFMODE, 3)));
  Fact("setbufmode.0", ErrName(IoctlU(fd, bsd::kBIOCSETBUFMODE, 0)));
  // §3: net.bpf.zerocopy_enable is read when BIOCSETBUFMODE runs.
  const char* saved = getenv("BPF_MODEL_SYSCTLS");
  std::string saved_sysctls = saved != nullptr ? saved : "";
  setenv("BPF_MODEL_SYSCTLS", "net.bpf.zerocopy_enable=0", 1);
  Fact("zerocopy_disabled.setbufmode", ErrName(IoctlU(fd, bsd::kBIOCSETBUFMODE, bsd::kBufModeZbuf)));
  setenv("BPF_MODEL_SYSCTLS", saved_sysctls.c_str(), 1);
  Fact("zerocopy_enabled.setbufmode", ErrName(IoctlU(fd, bsd::kBIOCSETBUFMODE, bsd::kBufModeZbuf)));
  Fact("switch_back.setbufmode", ErrName(IoctlU(fd, bsd::kBIOCSETBUFMODE, bsd::kBufModeBuffer)));
  CloseFd(fd);

  // §3: BIOCSBLEN allocates at once, so a later switch to ZBUF is EBUSY; values are clamped.
  fd = OpenBpf();
  unsigned size = 10;
  Fact("sblen.small.err", ErrName(Ioctl(fd, bsd::kBIOCSBLEN, &size)));
  Fact("sblen.small", size);
  size = 1u << 30;
  Fact("sblen.large.err", ErrName(Ioctl(fd, bsd::kBIOCSBLEN, &size)));
  Fact("sblen.large", size);
  Fact("sblen_then_setbufmode", ErrName(IoctlU(fd, bsd::kBIOCSETBUFMODE, bsd::kBufModeZbuf)));
  CloseFd(fd);
  // Buffer mode: SETIF allocates its buffers before looking the name up.
  fd = OpenBpf();
  Fact("buffer.setif_unknown", ErrName(SetIf(fd, "zbnope0")));
  Fact("buffer.setif_unknown_then_setbufmode", ErrName(IoctlU(fd, bsd::kBIOCSETBUFMODE, bsd::kBufModeZbuf)));
  Fact("buffer.unattached_read", ErrName(ReadErrno(fd, 4096)));
  CloseFd(fd);

  // Zero-copy set-up order (§3, §8.1).
  fd = OpenBpf();
  Fact("zbuf.setbufmode", ErrName(IoctlU(fd, bsd::kBIOCSETBUFMODE, bsd::kBufModeZbuf)));
  Ioctl(fd, bsd::kBIOCGETBUFMODE, &mode);
  Fact("zbuf.bufmode", mode);
  unsigned char zmax_bytes[16];
  std::memset(zmax_bytes, 0xaa, sizeof zmax_bytes);
  Fact("zbuf.getzmax.err", ErrName(Ioctl(fd, bsd::kBIOCGETZMAX, zmax_bytes)));
  std::memcpy(&zmax, zmax_bytes, sizeof zmax);
  Fact("zbuf.getzmax", static_cast<long long>(zmax));
  Fact("zbuf.getzmax_wrote_8_bytes", zmax_bytes[8] == 0xaa && zmax_bytes[15] == 0xaa);
  size = 8192;
  Fact("zbuf.sblen", ErrName(Ioctl(fd, bsd::kBIOCSBLEN, &size)));
  Ioctl(fd, bsd::kBIOCGBLEN, &blen);
  Fact("zbuf.blen_before_setzbuf", blen);
  Fact("zbuf.setif_before_setzbuf", ErrName(SetIf(fd, g_if)));
  Fact("zbuf.setif_unknown", ErrName(SetIf(fd, "zbnope0")));
  Fact("zbuf.read_before_setzbuf", ErrName(ReadErrno(fd, 4096)));
  Fact("zbuf.unattached_poll_readable", Readable(fd, 0));

  Fact("setzbuf.null_b", ErrName(SetZbuf(fd, z.a, nullptr, z.len)));
  Fact("setzbuf.len0", ErrName(SetZbuf(fd, z.a, z.b, 0)));
  Fact("setzbuf.unaligned", ErrName(SetZbuf(fd, z.a + 8, z.b, z.len)));
  Fact("setzbuf.partial_page", ErrName(SetZbuf(fd, z.a, z.b, kPage + 100)));
  unsigned char* huge = MapBuffer(513 * kPage);
  Fact("setzbuf.513_pages", ErrName(SetZbuf(fd, huge, huge, 513 * kPage)));
  if (munmap(huge, 513 * kPage) != 0) Die("munmap");
  unsigned char* gone = MapBuffer(2 * kPage);
  if (munmap(gone, 2 * kPage) != 0) Die("munmap");
  Fact("setzbuf.unmapped", ErrName(SetZbuf(fd, gone, z.b, 2 * kPage)));
  unsigned char* readonly = MapBuffer(2 * kPage, MAP_SHARED | MAP_ANONYMOUS, PROT_READ);
  Fact("setzbuf.readonly", ErrName(SetZbuf(fd, z.a, readonly, 2 * kPage)));
  if (munmap(readonly, 2 * kPage) != 0) Die("munmap");
  // zbuf_setup zeroes A's header before B fails.
  Fact("setzbuf.a_header_zeroed_when_b_fails", Header(z.a)->kernel_gen == 0 && Header(z.a)->user_gen == 0);
  std::memset(z.a, 0xff, z.len);
  Fact("setzbuf.ok", ErrName(SetZbuf(fd, z.a, z.b, z.len)));
  bool zeroed = true;
  for (unsigned i = 0; i < 32; ++i) zeroed = zeroed && z.a[i] == 0 && z.b[i] == 0;
  Fact("setzbuf.headers_zeroed", zeroed);
  Fact("setzbuf.data_untouched", z.a[32] == 0xff && z.b[z.len - 1] == 0xff);
  Ioctl(fd, bsd::kBIOCGBLEN, &blen);
  Fact("setzbuf.blen", blen);
  Zbufs z2 = MapZbufs(2 * kPage);
  Fact("setzbuf.second", ErrName(SetZbuf(fd, z2.a, z2.b, z2.len)));
  Fact("setzbuf.then_setbufmode", ErrName(IoctlU(fd, bsd::kBIOCSETBUFMODE, bsd::kBufModeBuffer)));
  Fact("zbuf.read_bufsize", ErrName(ReadErrno(fd, blen)));
  Fact("zbuf.read_wrong_len", ErrName(ReadErrno(fd, 4096)));
  bsd::Zbuf empty = Rotate(fd);
  Fact("zbuf.rotzbuf_empty_is_zero", IsZero(empty));

  // Settings validation.
  Fact("sdirection.3", ErrName(IoctlU(fd, bsd::kBIOCSDIRECTION, 3)));
  Fact("sdirection.0", ErrName(IoctlU(fd, bsd::kBIOCSDIRECTION, 0)));
  Fact("sdirection.2", ErrName(IoctlU(fd, bsd::kBIOCSDIRECTION, 2)));
  Fact("ststamp.4", ErrName(IoctlU(fd, bsd::kBIOCSTSTAMP, 0x4)));
  Fact("ststamp.none_fast", ErrName(IoctlU(fd, bsd::kBIOCSTSTAMP, 0x103)));
  Fact("ststamp.0x400", ErrName(IoctlU(fd, bsd::kBIOCSTSTAMP, 0x401)));
  Fact("ststamp.nanotime_monotonic", ErrName(IoctlU(fd, bsd::kBIOCSTSTAMP, 0x201)));
  Ioctl(fd, bsd::kBIOCGTSTAMP, &tstamp);
  Fact("gtstamp", tstamp);
  Fact("ststamp.none", ErrName(IoctlU(fd, bsd::kBIOCSTSTAMP, 0x3)));
  bsd::Timeval tv{0, 1000000};
  Fact("srtimeout.usec_1e6", ErrName(Ioctl(fd, bsd::kBIOCSRTIMEOUT, &tv)));
  tv = {-1, 0};
  Fact("srtimeout.negative", ErrName(Ioctl(fd, bsd::kBIOCSRTIMEOUT, &tv)));
  tv = {1, 1500};
  Fact("srtimeout.ok", ErrName(Ioctl(fd, bsd::kBIOCSRTIMEOUT, &tv)));
  bsd::Timeval got{};
  Ioctl(fd, kBIOCGRTIMEOUT, &got);
  Fact("grtimeout", std::to_string(got.sec) + "." + std::to_string(got.usec));
  int nread = -1;
  Fact("fionread.err", ErrName(Ioctl(fd, bsd::kFIONREAD, &nread)));
  Fact("fionread", nread);
  Fact("unknown_request", ErrName(Ioctl(fd, kBIOCUNKNOWN, nullptr)));
  Fact("bad_pointer.gstats", ErrName(Ioctl(fd, bsd::kBIOCGSTATS, reinterpret_cast<void*>(8))));
  Fact("bad_pointer.setif", ErrName(Ioctl(fd, bsd::kBIOCSETIF, reinterpret_cast<void*>(8))));
  int on = 1;
  Fact("fionbio", ErrName(Ioctl(fd, kFIONBIO, &on)));
  // Linux's own FIONBIO (what libuv issues on any fd it polls) applies to the fd itself.
  int off = 0;
  Fact("linux_fionbio", ErrName(Ioctl(fd, FIONBIO, &off)));
  Fact("linux_fionbio.cleared", (fcntl(fd, F_GETFL) & O_NONBLOCK) == 0);

  // Filters (§3 filter rules, bpf_filter.c: bpf_validate()).
  std::vector<bsd::Insn> big(513, bsd::Insn{kRetK, 0, 0, 0});
  Fact("setf.513", ErrName(SetFilter(fd, bsd::kBIOCSETF, big)));
  bsd::Program null_program{1, nullptr};
  Fact("setf.null_len1", ErrName(Ioctl(fd, bsd::kBIOCSETF, &null_program)));
  auto no_ret = Program({{kLdLen, 0, 0, 0}});
  Fact("setf.no_ret", ErrName(SetFilter(fd, bsd::kBIOCSETF, no_ret)));
  auto jump_out = Program({{kJa, 0, 0, 1}, {kRetK, 0, 0, 0}});
  Fact("setf.jump_out", ErrName(SetFilter(fd, bsd::kBIOCSETF, jump_out)));
  auto jump_cond_out = Program({{kJeqK, 1, 0, 0}, {kRetK, 0, 0, 0}});
  Fact("setf.jump_cond_out", ErrName(SetFilter(fd, bsd::kBIOCSETF, jump_cond_out)));
  auto bad_mem = Program({{kLdMem, 0, 0, 16}, {kRetK, 0, 0, 0}});
  Fact("setf.mem16", ErrName(SetFilter(fd, bsd::kBIOCSETF, bad_mem)));
  auto div0 = Program({{kDivK, 0, 0, 0}, {kRetK, 0, 0, 0}});
  Fact("setf.div0", ErrName(SetFilter(fd, bsd::kBIOCSETF, div0)));
  auto bad_op = Program({{0x0e, 0, 0, 0}, {kRetK, 0, 0, 0}});  // BPF_RET|BPF_X does not exist
  Fact("setf.bad_opcode", ErrName(SetFilter(fd, bsd::kBIOCSETF, bad_op)));
  auto ok = Program({{kLdLen, 0, 0, 0}, {kJa, 0, 0, 0}, {kRetA, 0, 0, 0}});
  Fact("setf.valid", ErrName(SetFilter(fd, bsd::kBIOCSETF, ok)));
  std::vector<bsd::Insn> none;
  Fact("setf.empty", ErrName(SetFilter(fd, bsd::kBIOCSETF, none)));
  Fact("setfnr.valid", ErrName(SetFilter(fd, bsd::kBIOCSETFNR, ok)));
  setenv("BPF_MODEL_SYSCTLS", "net.bpf.zerocopy_enable=1 net.bpf.maxinsns=2", 1);
  Fact("setf.over_maxinsns_sysctl", ErrName(SetFilter(fd, bsd::kBIOCSETF, ok)));
  setenv("BPF_MODEL_SYSCTLS", saved_sysctls.c_str(), 1);

  // §3 Locked descriptors.
  Fact("lock", ErrName(Ioctl(fd, kBIOCLOCK, nullptr)));
  Fact("locked.setbufmode", ErrName(IoctlU(fd, bsd::kBIOCSETBUFMODE, bsd::kBufModeZbuf)));
  Fact("locked.getbufmode", ErrName(Ioctl(fd, bsd::kBIOCGETBUFMODE, &mode)));
  Fact("locked.setf", ErrName(SetFilter(fd, bsd::kBIOCSETF, ok)));
  Fact("locked.rotzbuf", ErrName(Ioctl(fd, bsd::kBIOCROTZBUF, &rot)));
  bsd::Stat st{};
  Fact("locked.gstats", ErrName(Ioctl(fd, bsd::kBIOCGSTATS, &st)));
  CloseFd(fd);
  UnmapZbufs(z);  // after close (§8.12)
  UnmapZbufs(z2);

  // §3: O_WRONLY gives a writer-only descriptor that cannot be read.
  fd = open("/dev/bpf", O_WRONLY | O_NONBLOCK);
  if (fd < 0) Die("open O_WRONLY");
  Fact("wronly.read", ErrName(ReadErrno(fd, 4096)));
  CloseFd(fd);
  // A close the model never sees (close_range is a direct syscall) must not leave a stale
  // entry that hijacks the next file given the same number.
  fd = OpenBpf();
  if (close_range(static_cast<unsigned>(fd), static_cast<unsigned>(fd), 0) != 0) Die("close_range");
  int p[2];
  if (pipe(p) != 0) Die("pipe");
  Fact("stale.reused", p[0] == fd);
  char c = 'x';
  if (write(p[1], &c, 1) != 1) Die("write pipe");
  Fact("stale.read", read(p[0], &c, 1));
  CloseFd(p[0]);
  CloseFd(p[1]);
  // O_CLOEXEC reaches the fd.
  fd = OpenBpf(O_RDWR | O_CLOEXEC);
  Fact("cloexec", (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
  Fact("blocking_open_is_blocking", (fcntl(fd, F_GETFL) & O_NONBLOCK) == 0);
  CloseFd(fd);
}

// §3: BIOCSETBUFMODE(ZBUF) under whatever net.bpf.zerocopy_enable the environment sets.
void ScenarioSetBufMode() {
  int fd = OpenBpf();
  Fact("setbufmode.zbuf", ErrName(IoctlU(fd, bsd::kBIOCSETBUFMODE, bsd::kBufModeZbuf)));
  CloseFd(fd);
}

// §4 rotation triggers, alternation, lazy reclaim, ROTZBUF, buffull; §5 layout.
// 2-page buffers: bufsize 8160, 64-byte frames make 96-byte records, 85 per buffer.
void ScenarioRotation() {
  Zbufs z = MapZbufs(2 * kPage);
  int fd = OpenBpf();
  if (IoctlU(fd, bsd::kBIOCSETBUFMODE, bsd::kBufModeZbuf) != 0) Die("BIOCSETBUFMODE");
  if (SetZbuf(fd, z.a, z.b, z.len) != 0) Die("BIOCSETZBUF");
  if (IoctlU(fd, bsd::kBIOCSTSTAMP, bsd::kTstampNanotime) != 0) Die("BIOCSTSTAMP");
  Fact("before_attach.readable", Readable(fd, 0));
  Fact("setif", ErrName(SetIf(fd, g_if)));
  unsigned dlt = 0;
  Ioctl(fd, bsd::kBIOCGDLT, &dlt);
  Fact("dlt", dlt);
  bsd::Ifreq ifr{};
  Ioctl(fd, bsd::kBIOCGETIF, &ifr);
  Fact("getif", ifr.name);
  Fact("attached_empty.readable", Readable(fd, 20));
  unsigned sent = 0;
  auto send = [&](unsigned count) {
    Send(g_send, count, sent);
    sent += count;
    return WaitRecv(fd, sent);
  };

  // Partial store buffer: no hand-over, not readable (no immediate mode), FIONREAD = slen.
  timespec t0 = Now();
  send(10);
  timespec t1 = Now();
  Fact("partial.a_gen", KernelGen(z.a));
  Fact("partial.readable", Readable(fd, 20));
  int nread = 0;
  Ioctl(fd, bsd::kFIONREAD, &nread);
  Fact("partial.fionread", nread);

  // Trigger 3: ROTZBUF hands A over.
  bsd::Zbuf r1 = Rotate(fd);
  Fact("rot1.bufa_is_a", r1.bufa == z.a);
  Fact("rot1.bufb_null", r1.bufb == nullptr);
  Fact("rot1.buflen", static_cast<long long>(r1.buflen));
  SummarizeZbuf("rot1.a", z.a, &t0, &t1);
  Fact("rot1.readable", Readable(fd, 20));
  Fact("rot2.zero", IsZero(Rotate(fd)));  // hold slot occupied

  // Data reaches B before A is acked; after the ack ROTZBUF is a no-op until a packet.
  send(5);
  Fact("rot3.zero_hold_unacked", IsZero(Rotate(fd)));
  Ack(z.a);
  Fact("quirk.unreadable_after_ack", EventuallyUnreadable(fd, 500));
  Fact("quirk.rot_after_ack_zero", IsZero(Rotate(fd)));
  Fact("quirk.readable_after_ack", Readable(fd, 0));
  Ioctl(fd, bsd::kFIONREAD, &nread);
  Fact("quirk.fionread", nread);
  send(1);  // reclaims A
  bsd::Zbuf r5 = Rotate(fd);
  Fact("rot5.bufa_is_b", r5.bufa == z.b);
  Fact("rot5.buflen", static_cast<long long>(r5.buflen));
  SummarizeZbuf("rot5.b", z.b);

  // Trigger 1: a full store buffer with a free buffer available rotates, A then B.
  Ack(z.b);
  send(85);  // first packet reclaims B; A gets 85 records and is full
  Fact("fill_a.a_gen_before", KernelGen(z.a));
  Fact("fill_a.readable_full_store", Readable(fd, 0));
  send(1);  // does not fit: A handed over, B becomes the store buffer
  SummarizeZbuf("trigger1.a", z.a);
  Fact("trigger1.a_readable", Readable(fd, 20));
  Ack(z.a);
  send(84);
  send(1);
  SummarizeZbuf("trigger1.b", z.b);

  // Trigger 2: B unacked, A fills: A handed over in place, packets dropped, no wakeup.
  send(84);
  Fact("buffull.a_gen_full", KernelGen(z.a));
  send(3);
  SummarizeZbuf("buffull.a", z.a);
  Fact("buffull.drop", Stats(fd).drop);
  Fact("buffull.b_user_owned", UserOwned(z.b));
  Ack(z.b);
  Fact("buffull.unreadable_after_b_ack", EventuallyUnreadable(fd, 500));
  SleepMs(10);
  Fact("buffull.a_user_owned", UserOwned(z.a));
  Fact("buffull.readable_after_b_ack", Readable(fd, 0));
  // Recovery: the next packet reclaims B and moves A to the hold slot without a second bump.
  send(1);
  Fact("recover.a_gen", KernelGen(z.a));
  Fact("recover.b_gen", KernelGen(z.b));
  Fact("recover.readable", Readable(fd, 20));
  Fact("recover.rot_zero", IsZero(Rotate(fd)));
  Ack(z.a);
  send(1);
  bsd::Zbuf r6 = Rotate(fd);
  Fact("recover.rot_bufa_is_b", r6.bufa == z.b);
  SummarizeZbuf("recover.b", z.b);
  bsd::Stat st = Stats(fd);
  Fact("stats.recv", st.recv);
  Fact("stats.drop", st.drop);
  Fact("stats.sent", sent);
  Fact("flush", ErrName(Ioctl(fd, bsd::kBIOCFLUSH, nullptr)));
  st = Stats(fd);
  Fact("flush.recv", st.recv);
  Fact("flush.drop", st.drop);
  CloseFd(fd);
  UnmapZbufs(z);
  Fact("closed", 1);
}

int ReadableBytes(int fd) {
  int n = -1;
  if (Ioctl(fd, bsd::kFIONREAD, &n) != 0) Die("FIONREAD");
  return n;
}

// bpf.c: bpfioctl() FIONREAD = bd_slen, plus bd_hlen while a hold buffer exists. 64-byte frames
// make 90-byte records (hdrlen 26) padded to 96, so n records hold 96 * (n - 1) + 90 bytes.
void ScenarioFionread() {
  Zbufs z = MapZbufs(2 * kPage);
  int fd = OpenZbufCapture(z);
  Fact("zbuf.unattached", ReadableBytes(fd));
  if (SetIf(fd, g_if) != 0) Die("SETIF");
  unsigned sent = 0;
  auto send = [&](int target, unsigned count) {
    Send(g_send, count, sent);
    sent += count;
    WaitRecv(target, sent);
  };
  Fact("zbuf.empty", ReadableBytes(fd));
  send(fd, 3);
  Fact("zbuf.store_only", ReadableBytes(fd));
  Rotate(fd);  // A (3 records) becomes the hold buffer
  Fact("zbuf.hold_only", ReadableBytes(fd));
  send(fd, 2);
  Fact("zbuf.hold_and_store", ReadableBytes(fd));
  Ack(z.a);  // acknowledged, but only the next packet (catchpacket) reclaims it
  SleepMs(5);
  Fact("zbuf.acked_unreclaimed", ReadableBytes(fd));
  send(fd, 1);  // reclaims A; the store (B) now holds 3 records
  Fact("zbuf.reclaimed", ReadableBytes(fd));
  CloseFd(fd);
  UnmapZbufs(z);

  // Buffer mode, 4096-byte buffers: 42 records fit, the 43rd rotates.
  fd = OpenBpf();
  unsigned size = 4096;
  if (Ioctl(fd, bsd::kBIOCSBLEN, &size) != 0) Die("BIOCSBLEN");
  Fact("buffer.unattached", ReadableBytes(fd));
  if (SetIf(fd, g_if) != 0) Die("SETIF");
  sent = 0;
  Fact("buffer.empty", ReadableBytes(fd));
  send(fd, 3);
  Fact("buffer.store_only", ReadableBytes(fd));
  send(fd, 40);  // 43 records: 42 in the hold buffer, 1 in the store
  Fact("buffer.hold_and_store", ReadableBytes(fd));
  std::vector<unsigned char> buf(size);
  Fact("buffer.read", read(fd, buf.data(), buf.size()));
  Fact("buffer.after_read", ReadableBytes(fd));
  CloseFd(fd);
}

// ---------------------------------------------------------------------------------------
// kqueue-like readiness (run with BPF_MODEL_READINESS=kqueue): epoll registrations of the fd
// stand for kevent EV_ADD / EV_DELETE of EVFILT_READ.

struct Watch {
  int ep = -1;
  int fd = -1;
  explicit Watch(int watched) : ep(epoll_create1(EPOLL_CLOEXEC)), fd(watched) {
    if (ep < 0) Die("epoll_create1");
    Add();
  }
  ~Watch() { close(ep); }
  void Add() {
    epoll_event ev{};
    ev.events = EPOLLIN;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) Die("EPOLL_CTL_ADD");
  }
  void Remove() {
    if (epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr) != 0) Die("EPOLL_CTL_DEL");
  }
  // What libuv's uv_poll_stop + uv_poll_start does on Linux: DEL, then ADD again.
  void Reregister() {
    Remove();
    Add();
  }
  bool Ready(int timeout_ms) {
    epoll_event ev{};
    const int n = epoll_wait(ep, &ev, 1, timeout_ms);
    if (n < 0) Die("epoll_wait");
    return n == 1;
  }
};

void ScenarioKqueue() {
  unsigned sent = 0;
  auto send = [&](int fd, unsigned count) {
    const unsigned before = Stats(fd).recv;
    Send(g_send, count, sent);
    sent += count;
    WaitRecv(fd, before + count);
  };
  {
    // filt_bpfread answers bpf_ready(), which an unattached descriptor is not (bpfpoll differs).
    Zbufs z = MapZbufs(2 * kPage);
    int fd = OpenZbufCapture(z);
    Watch w(fd);
    Fact("unattached.ready", w.Ready(20));
    CloseFd(fd);
    UnmapZbufs(z);
  }
  {
    Zbufs z = MapZbufs(2 * kPage);
    int fd = OpenZbufCapture(z);
    if (SetIf(fd, g_if) != 0) Die("SETIF");
    Watch w(fd);
    Fact("attached_empty.ready", w.Ready(20));
    send(fd, 3);
    Fact("store_only.ready", w.Ready(20));
    Fact("rotzbuf.buflen", static_cast<long long>(Rotate(fd).buflen));  // bpf_ready() now, but no KNOTE
    Fact("rotzbuf.ready", w.Ready(50));
    Fact("rotzbuf.poll_readable", Readable(fd, 0));  // the eventfd mirrors the knote for poll(2) too
    w.Reregister();  // kqueue_register evaluates the filter
    Fact("reregistered.ready", w.Ready(20));
    Fact("reregistered.still_ready", w.Ready(20));  // level-triggered: stays while ready
    Ack(z.a);  // not ready any more: the next scan drops the knote
    bool dropped = false;
    for (int i = 0; i < 500 && !dropped; ++i) {
      dropped = !w.Ready(0);
      SleepMs(1);
    }
    Fact("acked.dropped", dropped);
    CloseFd(fd);
    UnmapZbufs(z);
  }
  {
    // catchpacket's wakeup for a full store buffer (85 records fit in 2 pages).
    Zbufs z = MapZbufs(2 * kPage);
    int fd = OpenZbufCapture(z);
    if (SetIf(fd, g_if) != 0) Die("SETIF");
    Watch w(fd);
    send(fd, 85);
    Fact("full_store.ready", w.Ready(20));
    send(fd, 1);
    Fact("buffer_full_rotation.ready", w.Ready(200));
    CloseFd(fd);
    UnmapZbufs(z);
  }
  {
    Zbufs z = MapZbufs(2 * kPage);
    int fd = OpenZbufCapture(z);
    if (IoctlU(fd, bsd::kBIOCIMMEDIATE, 1) != 0) Die("BIOCIMMEDIATE");
    if (SetIf(fd, g_if) != 0) Die("SETIF");
    Watch w(fd);
    Fact("immediate_empty.ready", w.Ready(20));
    send(fd, 1);
    Fact("immediate_packet.ready", w.Ready(200));
    CloseFd(fd);
    UnmapZbufs(z);
  }
  {
    // Read timeout: registration finds nothing ready and arms the callout (filt_bpfread).
    Zbufs z = MapZbufs(2 * kPage);
    int fd = OpenZbufCapture(z);
    bsd::Timeval tv{0, 50000};
    if (Ioctl(fd, bsd::kBIOCSRTIMEOUT, &tv) != 0) Die("BIOCSRTIMEOUT");
    if (SetIf(fd, g_if) != 0) Die("SETIF");
    Watch w(fd);
    w.Reregister();  // the ioctls above left the callout idle; registration arms it
    send(fd, 1);     // WaitRecv's BIOCGSTATS cancels the callout again: nothing re-arms it
    Fact("ioctl_cancelled_callout.ready", w.Ready(200));
    w.Reregister();  // arms it once more; nothing is ready yet
    Fact("callout_armed.ready", w.Ready(0));
    Fact("timed_out_with_data.ready", w.Ready(1000));  // bpf_timed_out: slen != 0, bpf_wakeup
    w.Remove();
    Rotate(fd);   // hands the record over; any ioctl also returns the state to BPF_IDLE
    Ack(z.a);
    w.Add();       // not ready: arms the callout; it expires with an empty store, no wakeup
    SleepMs(120);
    Fact("timed_out_empty.ready", w.Ready(0));
    Send(g_send, 1, sent++);  // catchpacket in TIMED_OUT: a wakeup (no ioctl in between)
    Fact("timed_out_packet.ready", w.Ready(1000));
    CloseFd(fd);
    UnmapZbufs(z);
  }
  Fact("sent", sent);
}

// Interface departure under kqueue readiness: bpfdetach's bpf_wakeup runs filt_bpfread, which
// answers bpf_ready() without EV_EOF. --if names an interface the probe deletes.
void ScenarioKqueueDetach() {
  Zbufs z = MapZbufs(2 * kPage);
  int fd = OpenZbufCapture(z);
  if (SetIf(fd, g_if) != 0) Die("SETIF");
  Watch w(fd);
  std::string cmd = "env -u LD_PRELOAD ip link del " + g_if;
  if (std::system(cmd.c_str()) != 0) Die("ip link del");
  SleepMs(50);
  Fact("departed_empty.ready", w.Ready(300));
  bsd::Ifreq ifr{};
  Fact("departed.getif", ErrName(Ioctl(fd, bsd::kBIOCGETIF, &ifr)));
  w.Reregister();
  Fact("departed_reregistered.ready", w.Ready(50));
  CloseFd(fd);
  UnmapZbufs(z);
}

// The feed sees only the attached interface: run while other interfaces carry traffic (frames
// numbered from 0x40000000). Attaches and detaches many times, each time counting what
// arrived on the quiet interface; the last attachment also receives 10 frames of its own.
void ScenarioIsolation() {
  const unsigned kCycles = 40, kOwn = 10, kOwnBase = 1000;
  unsigned long long recv_quiet = 0, foreign = 0, own = 0, unknown = 0, recv_last = 0;
  for (unsigned cycle = 0; cycle < kCycles; ++cycle) {
    const bool last = cycle + 1 == kCycles;
    Zbufs z = MapZbufs(16 * kPage);
    int fd = OpenZbufCapture(z);
    if (SetIf(fd, g_if) != 0) Die("SETIF");
    if (last) {
      Send(g_send, kOwn, kOwnBase);
      WaitRecv(fd, kOwn);
      SleepMs(20);
    } else {
      SleepMs(3);
    }
    const unsigned recv = Stats(fd).recv;
    (last ? recv_last : recv_quiet) += recv;
    Rotate(fd);
    const unsigned char* data = z.a + bsd::kZbufHeaderSize;
    const unsigned len = KernelLen(z.a);
    for (unsigned off = 0; off + 26 <= len;) {
      bsd::ExtendedHeader h;
      std::memcpy(&h, data + off, 26);
      const long seq = FrameSeq(data + off + h.hdrlen, h.caplen);
      if (seq >= 0x40000000L) ++foreign;
      else if (seq >= kOwnBase && seq < kOwnBase + kOwn) ++own;
      else ++unknown;
      off = (off + h.hdrlen + h.caplen + 7) & ~7u;
    }
    CloseFd(fd);
    UnmapZbufs(z);
  }
  Fact("isolation.cycles", kCycles);
  Fact("isolation.recv_quiet", static_cast<long long>(recv_quiet));
  Fact("isolation.recv_last", static_cast<long long>(recv_last));
  Fact("isolation.foreign", static_cast<long long>(foreign));
  Fact("isolation.own", static_cast<long long>(own));
  Fact("isolation.unknown", static_cast<long long>(unknown));
}

// Filter accept/reject, snaplen from RET, bs_recv before the filter, SETF vs SETFNR.
void ScenarioFilter() {
  Zbufs z = MapZbufs(2 * kPage);
  int fd = OpenZbufCapture(z);
  // ldh [12]; jeq #0x88b5 else reject; ld [18] (seq); jset #1 → reject; ret #40; ret #0
  auto even_only = Program({{kLdhAbs, 0, 0, 12},
                            {kJeqK, 0, 3, 0x88b5},
                            {kLdwAbs, 0, 0, 18},
                            {kJsetK, 1, 0, 1},
                            {kRetK, 0, 0, 40},
                            {kRetK, 0, 0, 0}});
  Fact("setf", ErrName(SetFilter(fd, bsd::kBIOCSETF, even_only)));
  Fact("setif", ErrName(SetIf(fd, g_if)));
  Send(g_send, 10, 0);
  Fact("even.recv", WaitRecv(fd, 10));
  Rotate(fd);
  SummarizeZbuf("even", z.a);
  Ack(z.a);
  // SETFNR keeps counters and buffered data; SETF resets them (§8.16).
  auto whole = Program({{kLdLen, 0, 0, 0}, {kRetA, 0, 0, 0}});
  Fact("setfnr", ErrName(SetFilter(fd, bsd::kBIOCSETFNR, whole)));
  Fact("after_setfnr.recv", Stats(fd).recv);
  Send(g_send, 3, 100, 100);
  Fact("whole.recv", WaitRecv(fd, 13));
  auto big_snap = Program({{kRetK, 0, 0, 1000}});
  Fact("setf.big_snap", ErrName(SetFilter(fd, bsd::kBIOCSETF, big_snap)));
  Fact("after_setf.recv", Stats(fd).recv);
  int nread = -1;
  Ioctl(fd, bsd::kFIONREAD, &nread);
  Fact("after_setf.fionread", nread);
  Send(g_send, 2, 200);
  WaitRecv(fd, 2);
  Rotate(fd);
  SummarizeZbuf("big_snap", z.b);
  CloseFd(fd);
  UnmapZbufs(z);
}

// BIOCSDIRECTION: bs_recv counts after the direction check.
void ScenarioDirection() {
  Zbufs z = MapZbufs(2 * kPage);
  int fd = OpenZbufCapture(z);
  Fact("setif", ErrName(SetIf(fd, g_if)));
  Fact("in", ErrName(IoctlU(fd, bsd::kBIOCSDIRECTION, bsd::kDirectionIn)));
  Send(g_send_out, 3, 0);
  Send(g_send, 2, 3);
  Fact("in.recv", WaitRecv(fd, 2));
  SleepMs(20);
  Fact("in.recv_settled", Stats(fd).recv);
  Fact("out", ErrName(IoctlU(fd, bsd::kBIOCSDIRECTION, bsd::kDirectionOut)));
  Ioctl(fd, bsd::kBIOCFLUSH, nullptr);
  Send(g_send, 2, 5);
  Send(g_send_out, 3, 7);
  Fact("out.recv", WaitRecv(fd, 3));
  SleepMs(20);
  Fact("out.recv_settled", Stats(fd).recv);
  Fact("inout", ErrName(IoctlU(fd, bsd::kBIOCSDIRECTION, bsd::kDirectionInOut)));
  Ioctl(fd, bsd::kBIOCFLUSH, nullptr);
  Send(g_send, 2, 10);
  Send(g_send_out, 3, 12);
  Fact("inout.recv", WaitRecv(fd, 5));
  Rotate(fd);
  SummarizeZbuf("all", z.a);
  CloseFd(fd);
  UnmapZbufs(z);
}

// Loopback: Linux shows each frame twice (outgoing + host); FreeBSD's lo0 taps it once.
// lo is shared with everything else on the machine, so the filter keeps only this run's
// sequence numbers.
void ScenarioLoopback() {
  const unsigned kCount = 4;
  const unsigned base = 0x7a000000u + static_cast<unsigned>(getpid() % 100000) * 16;
  Fact("lo.base", base);
  for (unsigned direction : {bsd::kDirectionInOut, bsd::kDirectionIn, bsd::kDirectionOut}) {
    Zbufs z = MapZbufs(16 * kPage);
    int fd = OpenZbufCapture(z);
    IoctlU(fd, bsd::kBIOCSDIRECTION, direction);
    auto ours = Program({{kLdhAbs, 0, 0, 12},
                         {kJeqK, 0, 4, 0x88b5},
                         {kLdwAbs, 0, 0, 18},
                         {kJgeK, 0, 2, base},
                         {kJgtK, 1, 0, base + kCount - 1},
                         {kRetK, 0, 0, 0xffffffff},
                         {kRetK, 0, 0, 0}});
    if (SetFilter(fd, bsd::kBIOCSETF, ours) != 0) Die("BIOCSETF");
    if (SetIf(fd, "lo") != 0) Die("SETIF lo");
    Send(g_send, kCount, base);
    SleepMs(50);
    Rotate(fd);
    const std::string prefix = "lo.dir" + std::to_string(direction);
    Fact(prefix + ".gen", KernelGen(z.a));
    Summarize(prefix, z.a + 32, KernelLen(z.a));
    CloseFd(fd);
    UnmapZbufs(z);
  }
}

// Buffer mode read(2) semantics.
void ScenarioBuffered() {
  int fd = OpenBpf(O_RDWR | O_CLOEXEC);  // blocking
  unsigned size = 4096;
  Fact("sblen", ErrName(Ioctl(fd, bsd::kBIOCSBLEN, &size)));
  Fact("setif", ErrName(SetIf(fd, g_if)));
  Fact("sblen_after_attach", ErrName(Ioctl(fd, bsd::kBIOCSBLEN, &size)));
  Fact("read_wrong_len", ErrName(ReadErrno(fd, 100)));
  std::vector<unsigned char> buf(4096);
  int nb = 1;
  Ioctl(fd, kFIONBIO, &nb);  // FreeBSD FIONBIO turns O_NONBLOCK on
  Fact("nonblock.flag", (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
  Fact("nonblock.empty", ErrName(read(fd, buf.data(), buf.size()) < 0 ? errno : 0));
  unsigned sent = 0;
  Send(g_send, 3, sent);
  sent += 3;
  WaitRecv(fd, sent);
  ssize_t n = read(fd, buf.data(), buf.size());
  Fact("nonblock.read", n);
  if (n > 0) Summarize("nonblock", buf.data(), static_cast<unsigned>(n), nullptr, nullptr, false);
  Fact("nonblock.again", ErrName(read(fd, buf.data(), buf.size()) < 0 ? errno : 0));

  // Blocking read with a read timeout: returns 0 when nothing came, the store otherwise.
  nb = 0;
  Ioctl(fd, kFIONBIO, &nb);
  bsd::Timeval tv{0, 100000};
  Ioctl(fd, bsd::kBIOCSRTIMEOUT, &tv);
  timespec start = Now(CLOCK_MONOTONIC);
  n = read(fd, buf.data(), buf.size());
  Fact("timeout_empty.read", n);
  Fact("timeout_empty.ms", MillisSince(start));
  Send(g_send, 2, sent);
  sent += 2;
  WaitRecv(fd, sent);
  start = Now(CLOCK_MONOTONIC);
  n = read(fd, buf.data(), buf.size());
  Fact("timeout_data.read", n);
  Fact("timeout_data.ms", MillisSince(start));
  // Immediate mode: data in the store is returned at once and makes poll readable.
  IoctlU(fd, bsd::kBIOCIMMEDIATE, 1);
  Send(g_send, 1, sent);
  sent += 1;
  WaitRecv(fd, sent);
  Fact("immediate.readable", Readable(fd, 20));
  start = Now(CLOCK_MONOTONIC);
  n = read(fd, buf.data(), buf.size());
  Fact("immediate.read", n);
  Fact("immediate.ms", MillisSince(start));
  IoctlU(fd, bsd::kBIOCIMMEDIATE, 0);

  // A full store rotates (42 records fit in 4096 bytes) and the hold buffer is readable.
  Send(g_send, 43, sent);
  sent += 43;
  WaitRecv(fd, sent);
  Fact("full.readable", Readable(fd, 20));
  nb = 1;
  Ioctl(fd, kFIONBIO, &nb);
  n = read(fd, buf.data(), buf.size());
  Fact("full.read", n);
  if (n > 0) Summarize("full", buf.data(), static_cast<unsigned>(n), nullptr, nullptr, false);
  n = read(fd, buf.data(), buf.size());
  Fact("full.read2", n);
  // Hold and store both full: further packets are dropped.
  Ioctl(fd, bsd::kBIOCFLUSH, nullptr);
  const unsigned base = sent;
  Send(g_send, 130, sent);
  sent += 130;
  Fact("both_full.recv", WaitRecv(fd, 130));
  Fact("both_full.drop", Stats(fd).drop);
  n = read(fd, buf.data(), buf.size());
  if (n > 0) Summarize("both_full.first", buf.data(), static_cast<unsigned>(n), nullptr, nullptr, false);
  n = read(fd, buf.data(), buf.size());
  if (n > 0) Summarize("both_full.second", buf.data(), static_cast<unsigned>(n), nullptr, nullptr, false);
  Fact("both_full.base", base);

  // A blocking read with a timeout returns once the timeout passes even while packets trickle
  // in: a reader blocked in read(2) arms no poll callout, so packets do not wake it.
  Ioctl(fd, bsd::kBIOCFLUSH, nullptr);
  nb = 0;
  Ioctl(fd, kFIONBIO, &nb);
  std::thread trickle([&] { Send(g_send, 30, 1000, 64, 100); });  // 300 ms of traffic
  SleepMs(30);
  start = Now(CLOCK_MONOTONIC);
  n = read(fd, buf.data(), buf.size());
  Fact("trickle.ms", MillisSince(start));
  Fact("trickle.read_positive", n > 0);
  trickle.join();
  CloseFd(fd);
}

// §4 readiness: read-timeout callout and immediate mode in ZBUF mode (neither rotates).
void ScenarioTimeout() {
  Zbufs z = MapZbufs(2 * kPage);
  int fd = OpenZbufCapture(z);
  bsd::Timeval tv{0, 50000};
  Ioctl(fd, bsd::kBIOCSRTIMEOUT, &tv);
  Fact("setif", ErrName(SetIf(fd, g_if)));
  SleepMs(100);  // the callout fires with an empty store: TIMED_OUT, not readable
  Fact("expired_empty.readable", Readable(fd, 0));
  Send(g_send, 1, 0);
  SleepMs(20);  // no ioctl in between: still TIMED_OUT, and now the store has data
  Fact("timed_out_data.readable", Readable(fd, 0));
  Stats(fd);  // any ioctl returns the state to IDLE
  Fact("after_ioctl.readable", Readable(fd, 0));
  timespec start = Now(CLOCK_MONOTONIC);
  Fact("rearmed.readable", Readable(fd, 1000));
  Fact("rearmed.ms", MillisSince(start));
  Fact("timeout.a_gen", KernelGen(z.a));  // timeouts never rotate
  Fact("immediate", ErrName(IoctlU(fd, bsd::kBIOCIMMEDIATE, 1)));
  Fact("immediate.readable", Readable(fd, 0));
  Fact("immediate.a_gen", KernelGen(z.a));
  CloseFd(fd);
  UnmapZbufs(z);
}

// §8.10 interface departure.
void ScenarioDetach() {
  Zbufs z = MapZbufs(2 * kPage);
  int fd = OpenZbufCapture(z);
  Fact("setif", ErrName(SetIf(fd, g_if)));
  Send(g_send, 3, 0);
  WaitRecv(fd, 3);
  Fact("before.readable", Readable(fd, 0));
  std::string cmd = "env -u LD_PRELOAD ip link del " + g_if;
  if (std::system(cmd.c_str()) != 0) Die("ip link del");
  timespec start = Now(CLOCK_MONOTONIC);
  Fact("after.readable", Readable(fd, 2000));
  Fact("after.ms", MillisSince(start));
  bsd::Ifreq ifr{};
  unsigned dlt = 0;
  Fact("after.getif", ErrName(Ioctl(fd, bsd::kBIOCGETIF, &ifr)));
  Fact("after.gdlt", ErrName(Ioctl(fd, bsd::kBIOCGDLT, &dlt)));
  Fact("after.promisc", ErrName(Ioctl(fd, bsd::kBIOCPROMISC, nullptr)));
  bsd::Stat st{};
  Fact("after.gstats", ErrName(Ioctl(fd, bsd::kBIOCGSTATS, &st)));
  Fact("after.recv", st.recv);
  bsd::Zbuf r = Rotate(fd);
  Fact("after.rot_bufa_is_a", r.bufa == z.a);
  SummarizeZbuf("after.a", z.a);
  Fact("after.setif_gone", ErrName(SetIf(fd, g_if)));
  CloseFd(fd);
  UnmapZbufs(z);
}

bool InterfacePromiscuous(const std::string& name) {
  std::string path = "/sys/class/net/" + name + "/flags";
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) Die("open flags");
  unsigned flags = 0;
  if (std::fscanf(f, "%x", &flags) != 1) Die("parse flags");
  std::fclose(f);
  return (flags & 0x100) != 0;  // IFF_PROMISC
}

void ScenarioPromisc() {
  Zbufs z = MapZbufs(2 * kPage);
  int fd = OpenZbufCapture(z);
  Fact("setif", ErrName(SetIf(fd, g_if)));
  Fact("before", InterfacePromiscuous(g_if));
  Fact("promisc", ErrName(Ioctl(fd, bsd::kBIOCPROMISC, nullptr)));
  Fact("during", InterfacePromiscuous(g_if));
  Fact("promisc_again", ErrName(Ioctl(fd, bsd::kBIOCPROMISC, nullptr)));
  CloseFd(fd);
  SleepMs(10);
  Fact("after_close", InterfacePromiscuous(g_if));
  UnmapZbufs(z);
}

// The model never crashes the host: buffers unmapped before close (FreeBSD keeps the pages
// wired, §8.13), and private (non-shared) buffers.
void ScenarioUnmap() {
  Zbufs z = MapZbufs(2 * kPage);
  int fd = OpenZbufCapture(z);
  Fact("setif", ErrName(SetIf(fd, g_if)));
  UnmapZbufs(z);
  Send(g_send, 300, 0);
  Fact("unmapped.recv", WaitRecv(fd, 300));
  Fact("unmapped.drop", Stats(fd).drop);  // A and B both handed over and never acked
  Fact("unmapped.rot_zero", IsZero(Rotate(fd)));
  CloseFd(fd);
  Fact("unmapped.survived", 1);

  Zbufs p = MapZbufs(2 * kPage, MAP_PRIVATE | MAP_ANONYMOUS);
  fd = OpenZbufCapture(p);
  Fact("private.setif", ErrName(SetIf(fd, g_if)));
  Send(g_send, 3, 0);
  WaitRecv(fd, 3);
  Rotate(fd);
  SummarizeZbuf("private.a", p.a);
  CloseFd(fd);
  UnmapZbufs(p);
}

// §1 timestamp formats: one frame per BIOCSTSTAMP type, checked against the right clock.
void ScenarioTimestamps() {
  struct Kind {
    const char* name;
    unsigned type;
  };
  const Kind kinds[] = {{"microtime", 0x0}, {"nanotime", 0x1}, {"bintime", 0x2}, {"none", 0x3},
                        {"nanotime_monotonic", 0x201}, {"microtime_fast", 0x100}};
  unsigned seq = 0;
  for (const Kind& kind : kinds) {
    Zbufs z = MapZbufs(2 * kPage);
    int fd = OpenZbufCapture(z, kind.type);
    if (SetIf(fd, g_if) != 0) Die("SETIF");
    const clockid_t clock = (kind.type & 0x200) ? CLOCK_BOOTTIME : CLOCK_REALTIME;
    const timespec t0 = Now(clock);
    Send(g_send, 1, seq++);
    WaitRecv(fd, 1);
    const timespec t1 = Now(clock);
    Rotate(fd);
    bsd::ExtendedHeader h;
    std::memcpy(&h, z.a + bsd::kZbufHeaderSize, 26);
    long long ns = 0;
    switch (kind.type & 0x3) {
      case 0x0: ns = static_cast<long long>(h.tstamp.frac) * 1000; break;
      case 0x1: ns = static_cast<long long>(h.tstamp.frac); break;
      case 0x2: ns = static_cast<long long>((static_cast<unsigned __int128>(h.tstamp.frac) * 1000000000u) >> 64); break;
      default: break;
    }
    const std::string prefix = std::string("ts.") + kind.name;
    Fact(prefix + ".hdrlen", h.hdrlen);
    if (kind.type == 0x3) {
      Fact(prefix + ".zero", h.tstamp.sec == 0 && h.tstamp.frac == 0);
    } else {
      // The stamp is taken when the frame reaches the interface: inside [t0, t1] up to the
      // rounding of the coarser formats.
      timespec lo = t0;
      lo.tv_nsec -= lo.tv_nsec % 1000;
      const timespec ts{static_cast<time_t>(h.tstamp.sec), static_cast<long>(ns)};
      Fact(prefix + ".in_window", Within(ts, lo, t1));
    }
    CloseFd(fd);
    UnmapZbufs(z);
  }
}

// §8.15 writer-only descriptors (run with net.bpf.optimize_writers=1).
void ScenarioWriters() {
  auto count_after_send = [](int fd, unsigned seq) {
    Send(g_send, 3, seq);
    SleepMs(30);
    return Stats(fd).recv;
  };
  Zbufs z = MapZbufs(2 * kPage);
  int fd = OpenZbufCapture(z);
  Fact("setif", ErrName(SetIf(fd, g_if)));
  Fact("attached.recv", count_after_send(fd, 0));
  auto snap = Program({{kRetK, 0, 0, 0xffffffff}});
  SetFilter(fd, bsd::kBIOCSETF, snap);  // pcap's snaplen filter: not yet an upgrade
  Fact("first_snap_setf.recv", count_after_send(fd, 3));
  SetFilter(fd, bsd::kBIOCSETF, snap);  // the second BIOCSETF upgrades
  Fact("second_snap_setf.recv", count_after_send(fd, 6));
  CloseFd(fd);
  UnmapZbufs(z);

  z = MapZbufs(2 * kPage);
  fd = OpenZbufCapture(z);
  Fact("setif2", ErrName(SetIf(fd, g_if)));
  std::vector<bsd::Insn> none;
  SetFilter(fd, bsd::kBIOCSETF, none);  // an empty program never upgrades
  Fact("empty_setf.recv", count_after_send(fd, 9));
  SetFilter(fd, bsd::kBIOCSETFNR, snap);  // any non-empty SETFNR upgrades at once
  Fact("setfnr.recv", count_after_send(fd, 12));
  CloseFd(fd);
  UnmapZbufs(z);
}

// bpf.c: bpf_attachd() puts a descriptor on the writer-only list when net.bpf.optimize_writers
// is set or bd_writer != 0 (bpfopen sets 2 without FREAD), and resets bd_writer to 2 there;
// bpf_setf() -> bpf_check_upgrade() lifts it off with a non-empty BIOCSETF/BIOCSETFNR program
// (a lone "ret #k" via BIOCSETF only on its second time). A filter set before the attach finds
// bd_writer == 0 and does nothing, so the attach still lands on the writer-only list.
void ScenarioWritersOrder() {
  const char* saved = getenv("BPF_MODEL_SYSCTLS");
  const std::string sysctls = saved != nullptr ? saved : "";
  auto with_optimize = [&](bool on) {
    const std::string setting = on ? " net.bpf.optimize_writers=1" : " net.bpf.optimize_writers=0";
    setenv("BPF_MODEL_SYSCTLS", (sysctls + setting).c_str(), 1);
  };
  unsigned seq = 0;
  auto recv_after_send = [&](int fd) {
    const unsigned before = Stats(fd).recv;
    Send(g_send, 3, seq);
    seq += 3;
    SleepMs(30);
    return Stats(fd).recv - before;
  };
  auto whole = Program({{kLdLen, 0, 0, 0}, {kRetA, 0, 0, 0}});
  auto snap = Program({{kRetK, 0, 0, 0xffffffff}});
  std::vector<bsd::Insn> none;
  struct Case {
    const char* name;
    bool optimize;
    int open_flags;
    unsigned long before_request;  // 0: no filter before BIOCSETIF
    std::vector<bsd::Insn>* before;
    unsigned long after_request;   // 0: no filter after
    std::vector<bsd::Insn>* after;
  };
  const Case cases[] = {
      {"setfnr_before", true, O_RDWR, bsd::kBIOCSETFNR, &whole, 0, nullptr},
      {"setf_before", true, O_RDWR, bsd::kBIOCSETF, &whole, 0, nullptr},
      {"setfnr_before_then_setfnr_after", true, O_RDWR, bsd::kBIOCSETFNR, &whole, bsd::kBIOCSETFNR, &whole},
      {"setf_after", true, O_RDWR, 0, nullptr, bsd::kBIOCSETF, &whole},
      {"setfnr_snap_after", true, O_RDWR, 0, nullptr, bsd::kBIOCSETFNR, &snap},
      {"setf_snap_after", true, O_RDWR, 0, nullptr, bsd::kBIOCSETF, &snap},
      {"setfnr_empty_after", true, O_RDWR, 0, nullptr, bsd::kBIOCSETFNR, &none},
      {"setwf_after", true, O_RDWR, 0, nullptr, kBIOCSETWF, &whole},
      {"off_setfnr_before", false, O_RDWR, bsd::kBIOCSETFNR, &whole, 0, nullptr},
      {"off_no_filter", false, O_RDWR, 0, nullptr, 0, nullptr},
      {"off_wronly", false, O_WRONLY, 0, nullptr, 0, nullptr},
      {"off_wronly_setf_before", false, O_WRONLY, bsd::kBIOCSETF, &whole, 0, nullptr},
      {"off_wronly_setf_after", false, O_WRONLY, 0, nullptr, bsd::kBIOCSETF, &whole},
  };
  for (const Case& c : cases) {
    with_optimize(c.optimize);
    int fd = open("/dev/bpf", c.open_flags | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) Die("open /dev/bpf");
    unsigned size = 8192;
    if (Ioctl(fd, bsd::kBIOCSBLEN, &size) != 0) Die("BIOCSBLEN");
    const std::string prefix = std::string("w.") + c.name;
    if (c.before_request != 0) Fact(prefix + ".before_err", ErrName(SetFilter(fd, c.before_request, *c.before)));
    if (SetIf(fd, g_if) != 0) Die("SETIF");
    Fact(prefix + ".attached", recv_after_send(fd));
    if (c.after_request != 0) {
      Fact(prefix + ".after_err", ErrName(SetFilter(fd, c.after_request, *c.after)));
      Fact(prefix + ".after", recv_after_send(fd));
    }
    CloseFd(fd);
  }
  setenv("BPF_MODEL_SYSCTLS", sysctls.c_str(), 1);
}

// A §9 consumer (check next, parse, ack, flip; ROTZBUF on timeout) racing a flood of frames
// while another thread issues ioctls: every packet is delivered once, in order, or counted.
void ScenarioStress() {
  const unsigned kFrames = 20000;
  Zbufs z = MapZbufs(32 * kPage);
  int fd = OpenZbufCapture(z);
  if (SetIf(fd, g_if) != 0) Die("SETIF");
  std::atomic<bool> stop_noise{false};
  std::thread noise([&] {
    while (!stop_noise.load()) {
      bsd::Stat st{};
      int n = 0;
      unsigned dlt = 0;
      bsd::Ifreq ifr{};
      Ioctl(fd, bsd::kBIOCGSTATS, &st);
      Ioctl(fd, bsd::kFIONREAD, &n);
      Ioctl(fd, bsd::kBIOCGDLT, &dlt);
      Ioctl(fd, bsd::kBIOCGETIF, &ifr);
      std::this_thread::yield();
    }
  });
  std::atomic<bool> sender_done{false};
  std::thread sender([&] {
    Send(g_send, kFrames, 0);
    sender_done.store(true);
  });

  unsigned char* next = z.a;
  unsigned long long delivered = 0, handovers = 0;
  long last_seq = -1;
  bool ordered = true;
  auto take_next = [&]() {
    if (!UserOwned(next)) return false;
    const unsigned char* data = next + bsd::kZbufHeaderSize;
    const unsigned len = KernelLen(next);
    for (unsigned off = 0; off < len;) {
      bsd::ExtendedHeader h;
      std::memcpy(&h, data + off, 26);
      long seq = FrameSeq(data + off + h.hdrlen, h.caplen);
      if (seq <= last_seq) ordered = false;
      last_seq = seq;
      ++delivered;
      off = (off + h.hdrlen + h.caplen + 7) & ~7u;
    }
    Ack(next);
    next = next == z.a ? z.b : z.a;
    ++handovers;
    return true;
  };
  unsigned nudges = 0;
  bool balanced = false;
  timespec start = Now(CLOCK_MONOTONIC);
  while (MillisSince(start) < 20000) {
    if (take_next()) continue;
    if (sender_done.load()) {
      bsd::Stat st = Stats(fd);
      if (st.recv == kFrames + nudges && delivered + st.drop == st.recv) {
        balanced = true;
        break;
      }
    }
    if (Readable(fd, 2)) continue;
    if (!IsZero(Rotate(fd)) || take_next()) continue;
    if (sender_done.load() && Stats(fd).recv == kFrames + nudges) {
      // §8.6: an acked hold buffer blocks ROTZBUF until the next packet; send one.
      Send(g_send, 1, kFrames + nudges);
      ++nudges;
      WaitRecv(fd, kFrames + nudges);
    }
  }
  sender.join();
  stop_noise.store(true);
  noise.join();
  bsd::Stat st = Stats(fd);
  Fact("stress.sent", kFrames + nudges);
  Fact("stress.recv", st.recv);
  Fact("stress.drop", st.drop);
  Fact("stress.delivered", static_cast<long long>(delivered));
  Fact("stress.balanced", balanced);
  Fact("stress.ordered", ordered);
  Fact("stress.handovers", static_cast<long long>(handovers));
  CloseFd(fd);
  UnmapZbufs(z);
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  if (argc < 2) {
    std::fprintf(stderr, "usage: probe SCENARIO [--if NAME] [--send CMD] [--send-out CMD]\n");
    return 2;
  }
  const std::string scenario = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--if") g_if = argv[i + 1];
    else if (flag == "--send") g_send = argv[i + 1];
    else if (flag == "--send-out") g_send_out = argv[i + 1];
    else {
      std::fprintf(stderr, "probe: unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  if (scenario == "errors") ScenarioErrors();
  else if (scenario == "setbufmode") ScenarioSetBufMode();
  else if (scenario == "rotation") ScenarioRotation();
  else if (scenario == "fionread") ScenarioFionread();
  else if (scenario == "kqueue") ScenarioKqueue();
  else if (scenario == "kqueue_detach") ScenarioKqueueDetach();
  else if (scenario == "isolation") ScenarioIsolation();
  else if (scenario == "filter") ScenarioFilter();
  else if (scenario == "direction") ScenarioDirection();
  else if (scenario == "loopback") ScenarioLoopback();
  else if (scenario == "buffered") ScenarioBuffered();
  else if (scenario == "timeout") ScenarioTimeout();
  else if (scenario == "detach") ScenarioDetach();
  else if (scenario == "promisc") ScenarioPromisc();
  else if (scenario == "unmap") ScenarioUnmap();
  else if (scenario == "writers") ScenarioWriters();
  else if (scenario == "writers_order") ScenarioWritersOrder();
  else if (scenario == "timestamps") ScenarioTimestamps();
  else if (scenario == "stress") ScenarioStress();
  else {
    std::fprintf(stderr, "probe: unknown scenario %s\n", scenario.c_str());
    return 2;
  }
  Fact("done", 1);
  return 0;
}
