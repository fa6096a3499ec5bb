// bpf_bintime2ts() semantics on top of the Linux packet time (docs/freebsd-kernel.md §1, bpf.c: bpf_bintime2ts()).
#include "timestamp.h"

namespace zbpf::model {
namespace {

constexpr std::int64_t kNanosPerSecond = 1000000000;

timespec Subtract(const timespec& a, const timespec& b) {
  timespec r{a.tv_sec - b.tv_sec, a.tv_nsec - b.tv_nsec};
  if (r.tv_nsec < 0) {
    r.tv_nsec += kNanosPerSecond;
    r.tv_sec -= 1;
  }
  return r;
}

// "MONOTONIC variants: time since boot" (§1): shift the realtime stamp by the current
// realtime - boottime offset. If a clock cannot be read the stamp stays on the realtime base.
timespec SinceBoot(const timespec& realtime) {
  timespec now_real{}, now_boot{};
  if (clock_gettime(CLOCK_REALTIME, &now_real) != 0 || clock_gettime(CLOCK_BOOTTIME, &now_boot) != 0) {
    return realtime;
  }
  return Subtract(realtime, Subtract(now_real, now_boot));
}

}  // namespace

bool TimestampTypeValid(unsigned type) {
  return type == kTstampNone ||
         ((type & kTstampFormatMask) != kTstampNone && (type & ~(kTstampFormatMask | kTstampFlagMask)) == 0);
}

bool UsesLegacyHeader(unsigned type) {
  return type == kTstampNone || (type & kTstampFormatMask) == kTstampMicrotime;
}

bsd::Timestamp ConvertTimestamp(const timespec& realtime, unsigned type) {
  bsd::Timestamp ts{0, 0};
  if (type == kTstampNone) return ts;  // catchpacket: do_timestamp = tstype != BPF_T_NONE
  const timespec t = (type & kTstampMonotonic) ? SinceBoot(realtime) : realtime;
  ts.sec = t.tv_sec;
  switch (type & kTstampFormatMask) {
    case kTstampMicrotime:
      ts.frac = static_cast<std::uint64_t>(t.tv_nsec) / 1000;
      break;
    case kTstampNanotime:
      ts.frac = static_cast<std::uint64_t>(t.tv_nsec);
      break;
    case kTstampBintime:
      // bintime: frac is the fraction of a second in units of 2^-64.
      ts.frac = static_cast<std::uint64_t>((static_cast<unsigned __int128>(t.tv_nsec) << 64) / kNanosPerSecond);
      break;
    default:
      break;
  }
  return ts;
}

}  // namespace zbpf::model
