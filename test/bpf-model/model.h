// The /dev/bpf model: constants and small helpers shared by its files.
// The model is a test instrument loaded with LD_PRELOAD (see scripts/with-bpf-model); the
// kernel rules it follows are in docs/freebsd-kernel.md, cited as §N in comments.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>

#include "../../native/abi/freebsd_bpf.h"

namespace zbpf::model {

namespace bsd = zbpf::freebsd;

// sys/net/bpf.h and bpf_buffer.c values that the ABI header does not need (§3, bpf_buffer.c).
constexpr std::uint32_t kMinBufSize = 32;          // BPF_MINBUFSIZE
constexpr std::size_t kMaxZbufPages = 512;         // BPF_MAX_PAGES in bpf_zerocopy.c (§3 GETZMAX)
constexpr std::size_t kPageSize = 4096;            // amd64 / arm64 PAGE_SIZE (§1)
constexpr std::uint32_t kMemWords = 16;            // BPF_MEMWORDS
constexpr unsigned kMaxSignal = 32;                // FreeBSD NSIG (BIOCSRSIG bound)
constexpr unsigned kMaxVlanPriority = 7;           // BPF_PRIO_MAX (§2 BIOCSETVLANPCP)

// Link types the model attaches as (§1 "How bh_hdrlen is computed").
constexpr unsigned kDltEn10mb = 1;   // DLT_EN10MB, link header 14 bytes
constexpr unsigned kDltRaw = 12;     // DLT_RAW on FreeBSD, link header 0 bytes
constexpr unsigned kEtherHeaderLen = 14;

// BPF_T_* (§1): only NANOTIME is in the ABI header.
constexpr unsigned kTstampMicrotime = 0x0;
constexpr unsigned kTstampNanotime = 0x1;
constexpr unsigned kTstampBintime = 0x2;
constexpr unsigned kTstampNone = 0x3;
constexpr unsigned kTstampFormatMask = 0x3;
constexpr unsigned kTstampFast = 0x100;
constexpr unsigned kTstampMonotonic = 0x200;
constexpr unsigned kTstampFlagMask = 0x300;

// Requests the production code does not use but the model answers like bpfioctl does.
// Built with the ABI header's own encoder (§2), not retyped numbers.
constexpr unsigned long kBIOCGRTIMEOUT = bsd::Ioc(bsd::kIocOut, 'B', 110, sizeof(bsd::Timeval));
constexpr unsigned long kBIOCGRSIG = bsd::Ioc(bsd::kIocOut, 'B', 114, sizeof(std::uint32_t));
constexpr unsigned long kBIOCSRSIG = bsd::Ioc(bsd::kIocIn, 'B', 115, sizeof(std::uint32_t));
constexpr unsigned long kBIOCGHDRCMPLT = bsd::Ioc(bsd::kIocOut, 'B', 116, sizeof(std::uint32_t));
constexpr unsigned long kBIOCSHDRCMPLT = bsd::Ioc(bsd::kIocIn, 'B', 117, sizeof(std::uint32_t));
constexpr unsigned long kBIOCGDIRECTION = bsd::Ioc(bsd::kIocOut, 'B', 118, sizeof(std::uint32_t));
constexpr unsigned long kBIOCSDLT = bsd::Ioc(bsd::kIocIn, 'B', 120, sizeof(std::uint32_t));
constexpr unsigned long kBIOCGDLTLIST = bsd::Ioc(bsd::kIocInOut, 'B', 121, 16);
constexpr unsigned long kBIOCLOCK = bsd::Ioc(bsd::kIocVoid, 'B', 122, 0);
constexpr unsigned long kBIOCSETWF = bsd::Ioc(bsd::kIocIn, 'B', 123, sizeof(bsd::Program));
constexpr unsigned long kBIOCFEEDBACK = bsd::Ioc(bsd::kIocIn, 'B', 124, sizeof(std::uint32_t));
constexpr unsigned long kBIOCSETVLANPCP = bsd::Ioc(bsd::kIocIn, 'B', 133, sizeof(std::uint32_t));
// sys/filio.h and sys/ttycom.h: handled by FreeBSD's generic ioctl layer or by bpfioctl.
constexpr unsigned long kFIOCLEX = bsd::Ioc(bsd::kIocVoid, 'f', 1, 0);
constexpr unsigned long kFIONCLEX = bsd::Ioc(bsd::kIocVoid, 'f', 2, 0);
constexpr unsigned long kFIOASYNC = bsd::Ioc(bsd::kIocIn, 'f', 125, sizeof(int));
constexpr unsigned long kFIONBIO = bsd::Ioc(bsd::kIocIn, 'f', 126, sizeof(int));
constexpr unsigned long kFIOSETOWN = bsd::Ioc(bsd::kIocIn, 'f', 124, sizeof(int));
constexpr unsigned long kFIOGETOWN = bsd::Ioc(bsd::kIocOut, 'f', 123, sizeof(int));

// sys/ioccom.h (§2): the direction bits and parameter length of a request.
inline bool IocIn(unsigned long request) { return (request & bsd::kIocIn) != 0; }
inline bool IocOut(unsigned long request) { return (request & bsd::kIocOut) != 0; }
inline std::size_t IocLen(unsigned long request) { return (request >> 16) & bsd::kIocParmMask; }

// BPF_WORDALIGN (§1): BPF_ALIGNMENT is sizeof(long) = 8 on LP64.
constexpr std::uint32_t WordAlign(std::uint32_t x) {
  return (x + (bsd::kAlignment - 1)) & ~static_cast<std::uint32_t>(bsd::kAlignment - 1);
}

// Writes "bpf-model: ..." to stderr when BPF_MODEL_TRACE is set (diagnostics only).
void Trace(const char* format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace zbpf::model
