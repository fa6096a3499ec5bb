// Classic BPF as FreeBSD's sys/net/bpf_filter.c runs and validates it (docs/freebsd-kernel.md §3 filter rules).
#pragma once

#include <cstdint>
#include <vector>

#include "model.h"

namespace zbpf::model {

// bpf_validate(): true if the kernel would install this program (an empty one is valid).
bool ValidateFilter(const std::vector<bsd::Insn>& program);

// bpf_filter(): the snap length the program returns for a packet of `wirelen` bytes of which
// `buflen` are in `packet`. An empty program accepts everything: (u_int)-1.
std::uint32_t RunFilter(const std::vector<bsd::Insn>& program, const std::uint8_t* packet,
                        std::uint32_t wirelen, std::uint32_t buflen);

}  // namespace zbpf::model
