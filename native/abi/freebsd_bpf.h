// The FreeBSD BPF ABI that zbpf relies on, written out once with explicit sizes so that the
// FreeBSD code path also compiles (and runs against the /dev/bpf model) on Linux.
// Source of every value: docs/freebsd-kernel.md §1 (layouts) and §2 (ioctl numbers).
// On FreeBSD each value is checked against <net/bpf.h> at the bottom of this file.
#pragma once

#include <cstddef>
#include <cstdint>

namespace zbpf::freebsd {

// sys/ioccom.h: FreeBSD's encoding, not Linux's _IOC layout.
constexpr unsigned long kIocParmMask = 0x1fff;
constexpr unsigned long kIocVoid = 0x20000000UL;
constexpr unsigned long kIocOut = 0x40000000UL;
constexpr unsigned long kIocIn = 0x80000000UL;
constexpr unsigned long kIocInOut = kIocIn | kIocOut;

constexpr unsigned long Ioc(unsigned long dir, char group, unsigned num, std::size_t len) {
  return dir | ((len & kIocParmMask) << 16) | (static_cast<unsigned long>(group) << 8) | num;
}

struct Zbuf {  // struct bpf_zbuf
  void* bufa;
  void* bufb;
  std::size_t buflen;
};

struct ZbufHeader {  // struct bpf_zbuf_header: never changes, same on every architecture
  volatile std::uint32_t kernel_gen;
  volatile std::uint32_t kernel_len;
  volatile std::uint32_t user_gen;
  std::uint32_t pad[5];
};

struct Timestamp {  // struct bpf_ts
  std::int64_t sec;
  std::uint64_t frac;
};

struct ExtendedHeader {  // struct bpf_xhdr; struct bpf_hdr has the same size on LP64
  Timestamp tstamp;
  std::uint32_t caplen;
  std::uint32_t datalen;
  std::uint16_t hdrlen;
};

struct Stat {  // struct bpf_stat
  std::uint32_t recv;
  std::uint32_t drop;
};

struct Insn {  // struct bpf_insn
  std::uint16_t code;
  std::uint8_t jt;
  std::uint8_t jf;
  std::uint32_t k;
};

struct Program {  // struct bpf_program
  std::uint32_t len;
  Insn* insns;
};

struct Version {  // struct bpf_version
  std::uint16_t major;
  std::uint16_t minor;
};

constexpr std::size_t kIfNameSize = 16;

struct Ifreq {  // struct ifreq: only the name matters to BPF; the union is 16 bytes
  char name[kIfNameSize];
  alignas(8) unsigned char data[16];
};

struct Timeval {  // struct timeval on LP64
  std::int64_t sec;
  std::int64_t usec;
};

static_assert(sizeof(void*) == 8, "zbpf supports LP64 FreeBSD only (amd64, arm64)");
static_assert(sizeof(Zbuf) == 24 && alignof(Zbuf) == 8);
static_assert(sizeof(ZbufHeader) == 32);
static_assert(offsetof(ZbufHeader, kernel_gen) == 0 && offsetof(ZbufHeader, kernel_len) == 4 &&
              offsetof(ZbufHeader, user_gen) == 8);
static_assert(sizeof(ExtendedHeader) == 32 && offsetof(ExtendedHeader, caplen) == 16 &&
              offsetof(ExtendedHeader, datalen) == 20 && offsetof(ExtendedHeader, hdrlen) == 24);
static_assert(sizeof(Stat) == 8 && sizeof(Insn) == 8 && sizeof(Program) == 16);
static_assert(sizeof(Version) == 4 && sizeof(Ifreq) == 32 && sizeof(Timeval) == 16);

constexpr unsigned kVersionMajor = 1;
constexpr unsigned kVersionMinor = 1;

constexpr unsigned kBufModeBuffer = 1;
constexpr unsigned kBufModeZbuf = 2;

constexpr unsigned kDirectionIn = 0;
constexpr unsigned kDirectionInOut = 1;
constexpr unsigned kDirectionOut = 2;

// BPF_T_*: a nanosecond wall-clock stamp, so records carry bpf_xhdr with bt_frac in ns.
constexpr unsigned kTstampNanotime = 0x1;

constexpr std::size_t kAlignment = sizeof(long);  // BPF_ALIGNMENT
constexpr std::size_t kMaxInsns = 512;           // net.bpf.maxinsns default
constexpr std::size_t kZbufHeaderSize = sizeof(ZbufHeader);

constexpr unsigned long kBIOCGBLEN = Ioc(kIocOut, 'B', 102, sizeof(std::uint32_t));
constexpr unsigned long kBIOCSBLEN = Ioc(kIocInOut, 'B', 102, sizeof(std::uint32_t));
constexpr unsigned long kBIOCSETF = Ioc(kIocIn, 'B', 103, sizeof(Program));
constexpr unsigned long kBIOCFLUSH = Ioc(kIocVoid, 'B', 104, 0);
constexpr unsigned long kBIOCPROMISC = Ioc(kIocVoid, 'B', 105, 0);
constexpr unsigned long kBIOCGDLT = Ioc(kIocOut, 'B', 106, sizeof(std::uint32_t));
constexpr unsigned long kBIOCGETIF = Ioc(kIocOut, 'B', 107, sizeof(Ifreq));
constexpr unsigned long kBIOCSETIF = Ioc(kIocIn, 'B', 108, sizeof(Ifreq));
constexpr unsigned long kBIOCSRTIMEOUT = Ioc(kIocIn, 'B', 109, sizeof(Timeval));
constexpr unsigned long kBIOCGSTATS = Ioc(kIocOut, 'B', 111, sizeof(Stat));
constexpr unsigned long kBIOCIMMEDIATE = Ioc(kIocIn, 'B', 112, sizeof(std::uint32_t));
constexpr unsigned long kBIOCVERSION = Ioc(kIocOut, 'B', 113, sizeof(Version));
constexpr unsigned long kBIOCSDIRECTION = Ioc(kIocIn, 'B', 119, sizeof(std::uint32_t));
constexpr unsigned long kBIOCGETBUFMODE = Ioc(kIocOut, 'B', 125, sizeof(std::uint32_t));
constexpr unsigned long kBIOCSETBUFMODE = Ioc(kIocIn, 'B', 126, sizeof(std::uint32_t));
constexpr unsigned long kBIOCGETZMAX = Ioc(kIocOut, 'B', 127, sizeof(std::size_t));
constexpr unsigned long kBIOCROTZBUF = Ioc(kIocOut, 'B', 128, sizeof(Zbuf));
constexpr unsigned long kBIOCSETZBUF = Ioc(kIocIn, 'B', 129, sizeof(Zbuf));
constexpr unsigned long kBIOCSETFNR = Ioc(kIocIn, 'B', 130, sizeof(Program));
constexpr unsigned long kBIOCGTSTAMP = Ioc(kIocOut, 'B', 131, sizeof(std::uint32_t));
constexpr unsigned long kBIOCSTSTAMP = Ioc(kIocIn, 'B', 132, sizeof(std::uint32_t));
constexpr unsigned long kFIONREAD = Ioc(kIocOut, 'f', 127, sizeof(int));

// The numbers docs/freebsd-kernel.md §2 computed for amd64/arm64: a second, independent check.
static_assert(kBIOCGBLEN == 0x40044266 && kBIOCSBLEN == 0xc0044266);
static_assert(kBIOCSETF == 0x80104267 && kBIOCFLUSH == 0x20004268 && kBIOCPROMISC == 0x20004269);
static_assert(kBIOCGDLT == 0x4004426a && kBIOCGETIF == 0x4020426b && kBIOCSETIF == 0x8020426c);
static_assert(kBIOCSRTIMEOUT == 0x8010426d && kBIOCGSTATS == 0x4008426f);
static_assert(kBIOCIMMEDIATE == 0x80044270 && kBIOCVERSION == 0x40044271);
static_assert(kBIOCSDIRECTION == 0x80044277 && kBIOCGETBUFMODE == 0x4004427d);
static_assert(kBIOCSETBUFMODE == 0x8004427e && kBIOCGETZMAX == 0x4008427f);
static_assert(kBIOCROTZBUF == 0x40184280 && kBIOCSETZBUF == 0x80184281);
static_assert(kBIOCSETFNR == 0x80104282 && kBIOCGTSTAMP == 0x40044283 && kBIOCSTSTAMP == 0x80044284);
static_assert(kFIONREAD == 0x4004667f);

}  // namespace zbpf::freebsd

#if defined(__FreeBSD__)
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <net/if.h>
#include <net/bpf.h>

namespace zbpf::freebsd::check {
static_assert(sizeof(struct bpf_zbuf) == sizeof(Zbuf));
static_assert(offsetof(struct bpf_zbuf, bz_bufb) == offsetof(Zbuf, bufb));
static_assert(offsetof(struct bpf_zbuf, bz_buflen) == offsetof(Zbuf, buflen));
static_assert(sizeof(struct bpf_zbuf_header) == sizeof(ZbufHeader));
static_assert(offsetof(struct bpf_zbuf_header, bzh_kernel_gen) == offsetof(ZbufHeader, kernel_gen));
static_assert(offsetof(struct bpf_zbuf_header, bzh_kernel_len) == offsetof(ZbufHeader, kernel_len));
static_assert(offsetof(struct bpf_zbuf_header, bzh_user_gen) == offsetof(ZbufHeader, user_gen));
static_assert(sizeof(struct bpf_xhdr) == sizeof(ExtendedHeader));
static_assert(offsetof(struct bpf_xhdr, bh_caplen) == offsetof(ExtendedHeader, caplen));
static_assert(offsetof(struct bpf_xhdr, bh_datalen) == offsetof(ExtendedHeader, datalen));
static_assert(offsetof(struct bpf_xhdr, bh_hdrlen) == offsetof(ExtendedHeader, hdrlen));
static_assert(sizeof(struct bpf_hdr) == sizeof(ExtendedHeader));
static_assert(offsetof(struct bpf_hdr, bh_hdrlen) == offsetof(ExtendedHeader, hdrlen));
static_assert(sizeof(struct bpf_stat) == sizeof(Stat));
static_assert(sizeof(struct bpf_insn) == sizeof(Insn));
static_assert(sizeof(struct bpf_program) == sizeof(Program));
static_assert(sizeof(struct bpf_version) == sizeof(Version));
static_assert(sizeof(struct ifreq) == sizeof(Ifreq));
static_assert(sizeof(struct timeval) == sizeof(Timeval));
static_assert(IFNAMSIZ == kIfNameSize);
static_assert(BPF_MAJOR_VERSION == kVersionMajor && BPF_MINOR_VERSION == kVersionMinor);
static_assert(BPF_BUFMODE_BUFFER == kBufModeBuffer && BPF_BUFMODE_ZBUF == kBufModeZbuf);
static_assert(BPF_D_IN == kDirectionIn && BPF_D_INOUT == kDirectionInOut && BPF_D_OUT == kDirectionOut);
static_assert(BPF_T_NANOTIME == kTstampNanotime);
static_assert(BPF_ALIGNMENT == kAlignment && BPF_MAXINSNS == kMaxInsns);
static_assert(BIOCGBLEN == kBIOCGBLEN && BIOCSBLEN == kBIOCSBLEN && BIOCSETF == kBIOCSETF);
static_assert(BIOCFLUSH == kBIOCFLUSH && BIOCPROMISC == kBIOCPROMISC && BIOCGDLT == kBIOCGDLT);
static_assert(BIOCGETIF == kBIOCGETIF && BIOCSETIF == kBIOCSETIF && BIOCSRTIMEOUT == kBIOCSRTIMEOUT);
static_assert(BIOCGSTATS == kBIOCGSTATS && BIOCIMMEDIATE == kBIOCIMMEDIATE);
static_assert(BIOCVERSION == kBIOCVERSION && BIOCSDIRECTION == kBIOCSDIRECTION);
static_assert(BIOCGETBUFMODE == kBIOCGETBUFMODE && BIOCSETBUFMODE == kBIOCSETBUFMODE);
static_assert(BIOCGETZMAX == kBIOCGETZMAX && BIOCROTZBUF == kBIOCROTZBUF);
static_assert(BIOCSETZBUF == kBIOCSETZBUF && BIOCSETFNR == kBIOCSETFNR);
static_assert(BIOCGTSTAMP == kBIOCGTSTAMP && BIOCSTSTAMP == kBIOCSTSTAMP && FIONREAD == kFIONREAD);
}  // namespace zbpf::freebsd::check
#endif
