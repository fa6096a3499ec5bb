// Compiles pcap-filter(7) expressions with the system's libpcap, loaded with dlopen at first
// use: zbpf builds without libpcap headers, and only string filters need the library at all.
#pragma once

#include <string>
#include <vector>

#include "../abi/freebsd_bpf.h"

namespace zbpf {

struct PcapCompileResult {
  enum class Outcome { kOk, kNoLibrary, kBadExpression };

  Outcome outcome = Outcome::kOk;
  // Linux's struct sock_filter has the same 8-byte layout as BSD's struct bpf_insn.
  std::vector<freebsd::Insn> program;
  // libpcap's own message (pcap_geterr), or what dlopen said for every name it tried.
  std::string message;
};

// pcap_open_dead(link_type, snaplen) + pcap_compile(optimize, netmask unknown), as tcpdump does.
// link_type is a DLT_* value. Safe to call from any thread (calls are serialised).
PcapCompileResult CompilePcapFilter(const std::string& expression, int link_type, int snaplen);

}  // namespace zbpf
