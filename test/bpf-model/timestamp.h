// Record timestamps in the formats BIOCSTSTAMP selects (docs/freebsd-kernel.md §1 "Which header the kernel writes").
#pragma once

#include <time.h>

#include <cstdint>

#include "model.h"

namespace zbpf::model {

// BPF_T_VALID (§1): exactly NONE, or a format other than NONE with no stray bits.
bool TimestampTypeValid(unsigned type);

// True when records carry struct bpf_hdr (timeval stamp): NONE and every MICROTIME variant.
bool UsesLegacyHeader(unsigned type);

// The bh_tstamp for a packet captured at `realtime` (CLOCK_REALTIME, as SO_TIMESTAMPNS gives
// it): seconds plus µs (MICROTIME), ns (NANOTIME) or a 2^-64 fraction (BINTIME); MONOTONIC
// variants count from boot instead of the epoch; NONE gives zero.
bsd::Timestamp ConvertTimestamp(const timespec& realtime, unsigned type);

}  // namespace zbpf::model
