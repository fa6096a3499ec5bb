#include "tpacket_ring.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "../core/shared_region.h"

namespace zbpf {

namespace {

// Ring policy (documented in docs and in the provider):
// - a block holds at least one whole packet of snaplen bytes (capped at kMaxUsefulSnaplen: the
//   largest packet Linux hands a packet socket is a 64 KiB GSO/GRO super-packet unless BIG TCP
//   is configured; a bigger packet is cut to the block, never dropped, and keeps its tp_len);
// - the ring has at least kMinBlocks blocks, so the kernel can keep filling while JS holds one;
// - a big ring grows its blocks (fewer hand-overs) up to kMaxGrownBlock, but never below
//   kMinBlocks blocks;
// - block sizes are powers of two times the page size: the kernel allocates each block as
//   2^order pages, so any other size wastes the rest.
// 16 MiB: the ring is what absorbs the time the event loop waits for a CPU; 4 MiB held only
// ~3 ms of 1500-byte frames at 850k pps and lost frames in the benchmark's overload run.
constexpr std::size_t kDefaultRingBytes = 16u << 20;
constexpr std::size_t kMaxUsefulSnaplen = 262144;
// tpacket_block_desc (48) + tpacket3_hdr and sockaddr_ll (68) + alignment of the link header
// to 16 + the kernel's strict "fits before the end" test, rounded up generously.
constexpr std::size_t kBlockOverhead = 256;
constexpr unsigned kMinBlocks = 8;
constexpr std::size_t kMaxGrownBlock = 1u << 20;
// The snap length from which a capture counts as whole-packet (tcpdump's classic 65535).
constexpr std::uint32_t kWholePacket = 65535;

// Rebinding to a protocol other than ETH_P_ALL makes the kernel unhook the socket with
// synchronize_net(): the barrier Quiesce() needs. Nothing arrives afterwards because Stop()
// has already attached a filter that rejects everything.
constexpr std::uint16_t kQuiesceProtocol = ETH_P_LOOPBACK;

// DLT_* values, as BPF reports them, so capture.linkType means the same on every provider
// (lib/files/linktype.ts maps them to pcap's LINKTYPE_* when writing files).
constexpr int kDltEn10mb = 1;
constexpr int kDltRaw = 12;  // the packet starts with an IPv4 or IPv6 header
constexpr int kDltIeee80211 = 105;
constexpr int kDltPrismHeader = 119;
constexpr int kDltIeee80211Radio = 127;

const char* const kRootHint =
    "capturing needs CAP_NET_RAW (and CAP_NET_ADMIN for promiscuous mode): run as root, or give both to a copy "
    "of node kept for capturing: `sudo setcap cap_net_raw,cap_net_admin=ep COPY_OF_NODE` "
    "(see README, \"Capturing without root\")";

sock_filter Insn(std::uint16_t code, std::uint8_t jt, std::uint8_t jf, std::uint32_t k) {
  return sock_filter{code, jt, jf, k};
}

// Which packets reach the user's program is decided by a prefix the kernel runs, not by the
// walker: packets we do not want then never take ring space, never cause drops and are not
// counted, and the prefix is re-applied on every filter swap. 'in' needs no prefix
// (PACKET_IGNORE_OUTGOING, see SetDirection). Linux shows every loopback packet twice, as
// sent and as received; like FreeBSD's lo0 and libpcap we keep the received copy only, so
// 'out' sees nothing on loopback. A = 0 again before the user's program, as at any start.
std::vector<sock_filter> WithDirection(TpacketDirection direction, bool loopback, const std::vector<sock_filter>& program) {
  const bool keep_outgoing = !loopback;
  const bool keep_incoming = direction != TpacketDirection::kOut;
  if (keep_outgoing && keep_incoming) return program;
  if (!keep_outgoing && !keep_incoming) return {Insn(BPF_RET | BPF_K, 0, 0, 0)};
  // Outgoing packets jump over the reject when they are wanted, land on it when they are not.
  const sock_filter test_outgoing = keep_outgoing ? Insn(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, PACKET_OUTGOING)
                                                  : Insn(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, PACKET_OUTGOING);
  std::vector<sock_filter> result = {
      Insn(BPF_LD | BPF_B | BPF_ABS, 0, 0, static_cast<std::uint32_t>(SKF_AD_OFF + SKF_AD_PKTTYPE)),
      test_outgoing,
      Insn(BPF_RET | BPF_K, 0, 0, 0),
      Insn(BPF_LD | BPF_IMM, 0, 0, 0),
  };
  result.insert(result.end(), program.begin(), program.end());
  return result;
}

// A lone `ret #k` with k at least kWholePacket keeps every packet the link can carry, bar GSO
// super-packets: running it costs the kernel work on every packet (30-50 ns of the sender's
// softirq per 64-byte frame in bench/results/2026-11-25-linux-x64-nofilter.md) for nothing.
// Without it, a super-packet longer than the snap length lands whole in the ring; the record
// cursor cuts caplen to the snap length (lib/protocol/tpacket3-records.ts).
bool KeepsWholePackets(const std::vector<sock_filter>& program) {
  return program.size() == 1 && program[0].code == (BPF_RET | BPF_K) && program[0].k >= kWholePacket;
}

std::string NoSuchInterfaceHint(const std::string& name) {
  return "no interface named " + name + ": list them with `ip link`";
}

}  // namespace

RingGeometry PlanRing(std::size_t buffer_size, std::size_t snaplen, std::size_t page_size) {
  const std::size_t ring = buffer_size != 0 ? buffer_size : kDefaultRingBytes;
  const std::size_t need = std::min(snaplen, kMaxUsefulSnaplen) + kBlockOverhead;
  std::size_t block = page_size;
  while (block < need) block <<= 1;
  while (block < kMaxGrownBlock && block * 2 * kMinBlocks <= ring) block <<= 1;
  const std::size_t count = std::max<std::size_t>(kMinBlocks, (ring + block - 1) / block);
  return RingGeometry{block, static_cast<unsigned>(std::min<std::size_t>(count, UINT_MAX))};
}

int LinkTypeForArphrd(unsigned arphrd) {
  switch (arphrd) {
    case ARPHRD_ETHER:
    case ARPHRD_LOOPBACK:  // Linux gives loopback a zeroed Ethernet header
      return kDltEn10mb;
    // No link-layer header at all, the packet is IP: tun, WireGuard, IP-in-IP and SIT
    // tunnels, raw-IP modems, and PPP (whose header a SOCK_RAW socket never sees).
    case ARPHRD_NONE:
    case ARPHRD_RAWIP:
    case ARPHRD_TUNNEL:
    case ARPHRD_TUNNEL6:
    case ARPHRD_SIT:
    case ARPHRD_PPP:
      return kDltRaw;
    case ARPHRD_IEEE80211:
      return kDltIeee80211;
    case ARPHRD_IEEE80211_PRISM:
      return kDltPrismHeader;
    case ARPHRD_IEEE80211_RADIOTAP:
      return kDltIeee80211Radio;
    default:
      return -1;
  }
}

Status TpacketRing::Open(const TpacketOptions& options, std::unique_ptr<TpacketRing>* out) {
  std::unique_ptr<TpacketRing> ring(new TpacketRing());
  ring->interface_ = options.interface;
  ring->direction_ = options.direction;
  // Order matters: everything is configured before bind(), which is what starts the capture,
  // so no packet from another interface or past a missing filter ever lands in the ring.
  if (Status s = ring->CreateSocket(); !s.ok()) return s;
  if (Status s = ring->LookUpInterface(options.interface); !s.ok()) return s;
  if (Status s = ring->SetVersion(); !s.ok()) return s;
  if (Status s = ring->SetDirection(options.direction); !s.ok()) return s;
  if (Status s = ring->SetFilter(options.filter); !s.ok()) return s;
  if (Status s = ring->SetUpRing(options.buffer_size, options.snaplen, options.timeout_ms); !s.ok()) return s;
  if (options.promiscuous) {
    if (Status s = ring->SetPromiscuous(); !s.ok()) return s;
  }
  if (Status s = ring->Bind(ETH_P_ALL); !s.ok()) return s;
  *out = std::move(ring);
  return Status::Ok();
}

TpacketRing::~TpacketRing() { Close(); }

// Protocol 0: the socket receives nothing until bind() names ETH_P_ALL and the interface.
// Created with ETH_P_ALL it would collect every interface's packets from this moment on.
Status TpacketRing::CreateSocket() {
  fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ >= 0) return Status::Ok();
  const int err = errno;
  if (err == EPERM || err == EACCES) return Status::Fail(err, "socket(AF_PACKET)", kRootHint);
  if (err == EAFNOSUPPORT) {
    return Status::Fail(err, "socket(AF_PACKET)", "this kernel has no packet sockets (CONFIG_PACKET)");
  }
  return Status::Fail(err, "socket(AF_PACKET)", "could not create a packet socket");
}

Status TpacketRing::LookUpInterface(const std::string& name) {
  ifreq ifr{};
  if (name.empty() || name.size() >= sizeof(ifr.ifr_name)) {
    return Status::Fail(EINVAL, "SIOCGIFINDEX", "interface names are 1 to 15 characters");
  }
  std::memcpy(ifr.ifr_name, name.c_str(), name.size() + 1);
  if (ioctl(fd_, SIOCGIFINDEX, &ifr) != 0) {
    const int err = errno;
    if (err == ENODEV || err == ENXIO) return Status::Fail(err, "SIOCGIFINDEX", NoSuchInterfaceHint(name));
    return Status::Fail(err, "SIOCGIFINDEX", "could not look up interface " + name);
  }
  ifindex_ = ifr.ifr_ifindex;
  if (ioctl(fd_, SIOCGIFHWADDR, &ifr) != 0) {
    return Status::Fail(errno, "SIOCGIFHWADDR", "could not read the link-layer type of " + name);
  }
  const unsigned arphrd = ifr.ifr_hwaddr.sa_family;
  const int link_type = LinkTypeForArphrd(arphrd);
  if (link_type < 0) {
    return Status::Fail(EPROTONOSUPPORT, "SIOCGIFHWADDR",
                        name + " has link-layer type ARPHRD " + std::to_string(arphrd) +
                            ", which zbpf cannot label for pcap yet; capture on an Ethernet, loopback or IP tunnel interface");
  }
  link_type_ = static_cast<unsigned>(link_type);
  loopback_ = arphrd == ARPHRD_LOOPBACK;
  if (ioctl(fd_, SIOCGIFFLAGS, &ifr) != 0) return Status::Fail(errno, "SIOCGIFFLAGS", "could not read the flags of " + name);
  // Bound to a down interface the socket would just report ENETDOWN later: say so now.
  if ((ifr.ifr_flags & IFF_UP) == 0) {
    return Status::Fail(ENETDOWN, "SIOCGIFFLAGS", name + " is down: bring it up with `ip link set " + name + " up`");
  }
  return Status::Ok();
}

Status TpacketRing::SetVersion() {
  const int version = TPACKET_V3;
  if (setsockopt(fd_, SOL_PACKET, PACKET_VERSION, &version, sizeof(version)) == 0) return Status::Ok();
  return Status::Fail(errno, "setsockopt(PACKET_VERSION)", "this kernel has no TPACKET_V3 rings (Linux 3.2 or later has)");
}

// 'out' is a filter prefix instead (see WithDirection); 'inout' needs nothing.
Status TpacketRing::SetDirection(TpacketDirection direction) {
  if (direction != TpacketDirection::kIn) return Status::Ok();
  // The kernel skips us for every packet this host sends: cheaper than any filter.
  const int ignore = 1;
  if (setsockopt(fd_, SOL_PACKET, PACKET_IGNORE_OUTGOING, &ignore, sizeof(ignore)) != 0) {
    return Status::Fail(errno, "setsockopt(PACKET_IGNORE_OUTGOING)",
                        "direction 'in' needs Linux 4.20 or later; use direction 'inout'");
  }
  return Status::Ok();
}

Status TpacketRing::SetFilter(const std::vector<sock_filter>& program) {
  const std::vector<sock_filter> effective = WithDirection(direction_, loopback_, program);
  if (KeepsWholePackets(effective)) return Detach();
  return Attach(effective);
}

Status TpacketRing::Detach() {
  const int unused = 0;  // the kernel wants an int-sized option value, and ignores it
  if (setsockopt(fd_, SOL_SOCKET, SO_DETACH_FILTER, &unused, sizeof(unused)) == 0 || errno == ENOENT) {
    return Status::Ok();
  }
  return Status::Fail(errno, "setsockopt(SO_DETACH_FILTER)", "could not remove the filter");
}

Status TpacketRing::Attach(const std::vector<sock_filter>& program) {
  if (program.empty() || program.size() > BPF_MAXINSNS) {
    return Status::Fail(EINVAL, "setsockopt(SO_ATTACH_FILTER)", "a filter has 1 to 4096 instructions");
  }
  sock_fprog fprog{static_cast<unsigned short>(program.size()), const_cast<sock_filter*>(program.data())};
  if (setsockopt(fd_, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof(fprog)) == 0) return Status::Ok();
  const int err = errno;
  if (err == ENOMEM) {
    return Status::Fail(err, "setsockopt(SO_ATTACH_FILTER)",
                        "the filter does not fit the socket's option memory: use a shorter filter or raise "
                        "net.core.optmem_max (sysctl -w net.core.optmem_max=262144)");
  }
  if (err == EINVAL) {
    return Status::Fail(err, "setsockopt(SO_ATTACH_FILTER)", "the kernel rejected the filter program");
  }
  return Status::Fail(err, "setsockopt(SO_ATTACH_FILTER)", "could not attach the filter");
}

Status TpacketRing::SetUpRing(std::size_t buffer_size, std::size_t snaplen, unsigned timeout_ms) {
  geometry_ = PlanRing(buffer_size, snaplen, PageSize());
  const std::string shape = std::to_string(geometry_.block_count) + " blocks of " +
                            std::to_string(geometry_.block_size) + " bytes";
  tpacket_req3 req{};
  req.tp_block_size = static_cast<unsigned>(geometry_.block_size);
  req.tp_block_nr = geometry_.block_count;
  // TPACKET_V3 packs variable-sized records into blocks; its "frames" only have to be
  // consistent with the blocks, so each block is one frame.
  req.tp_frame_size = static_cast<unsigned>(geometry_.block_size);
  req.tp_frame_nr = geometry_.block_count;
  // Never 0: that would let the kernel derive a timeout from the link speed instead.
  req.tp_retire_blk_tov = std::max(1u, timeout_ms);
  // No TP_FT_REQ_FILL_RXHASH: it costs a hash per packet for a field zbpf does not expose.
  req.tp_feature_req_word = 0;
  if (setsockopt(fd_, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) != 0) {
    const int err = errno;
    if (err == ENOMEM) {
      return Status::Fail(err, "setsockopt(PACKET_RX_RING)", "not enough kernel memory for " + shape + ": use a smaller bufferSize");
    }
    return Status::Fail(err, "setsockopt(PACKET_RX_RING)", "the kernel refused a ring of " + shape);
  }
  ring_length_ = geometry_.block_size * geometry_.block_count;
  // MAP_SHARED of the socket: this is the kernel's ring itself, not a copy.
  void* addr = mmap(nullptr, ring_length_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (addr == MAP_FAILED) {
    ring_length_ = 0;
    return Status::Fail(errno, "mmap", "could not map a ring of " + shape + ": use a smaller bufferSize");
  }
  ring_ = static_cast<unsigned char*>(addr);
  return Status::Ok();
}

// A per-socket membership: the kernel drops it (and the interface's promiscuity count) when
// the socket is released, however the process ends.
Status TpacketRing::SetPromiscuous() {
  packet_mreq mreq{};
  mreq.mr_ifindex = ifindex_;
  mreq.mr_type = PACKET_MR_PROMISC;
  if (setsockopt(fd_, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) == 0) return Status::Ok();
  return Status::Fail(errno, "setsockopt(PACKET_ADD_MEMBERSHIP)", "could not put " + interface_ + " into promiscuous mode");
}

Status TpacketRing::Bind(std::uint16_t protocol) {
  sockaddr_ll address{};
  address.sll_family = AF_PACKET;
  address.sll_protocol = htons(protocol);
  address.sll_ifindex = ifindex_;
  if (bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) return Status::Ok();
  const int err = errno;
  if (err == ENODEV) return Status::Fail(err, "bind", interface_ + " went away while the capture was being set up");
  return Status::Fail(err, "bind", "could not bind the packet socket to " + interface_);
}

Status TpacketRing::Stats(TpacketCounters* totals) {
  if (fd_ >= 0) {
    tpacket_stats_v3 stats{};
    socklen_t length = sizeof(stats);
    if (getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &stats, &length) != 0) {
      return Status::Fail(errno, "getsockopt(PACKET_STATISTICS)", "could not read the capture counters");
    }
    totals_.packets += stats.tp_packets;
    totals_.drops += stats.tp_drops;
    totals_.freezes += stats.tp_freeze_q_cnt;
  }
  *totals = totals_;
  return Status::Ok();
}

bool TpacketRing::Attached() const {
  if (fd_ < 0) return false;
  ifreq ifr{};
  ifr.ifr_ifindex = ifindex_;
  return ioctl(fd_, SIOCGIFNAME, &ifr) == 0 || errno != ENODEV;
}

// The kernel reports ENETDOWN when the interface goes down and when it is deleted (it is
// brought down first); the interface's index tells the two apart.
Status TpacketRing::PendingError() {
  int err = 0;
  socklen_t length = sizeof(err);
  if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &length) != 0) {
    return Status::Fail(errno, "getsockopt(SO_ERROR)", "could not read the capture socket's error");
  }
  if (err == 0) return Status::Ok();
  if (err == ENETDOWN && !Attached()) {
    return Status::Fail(ENODEV, "poll", interface_ + " was removed; open a new capture once it is back");
  }
  if (err == ENETDOWN) {
    return Status::Fail(err, "poll", interface_ + " went down; bring it up with `ip link set " + interface_ + " up` and open a new capture");
  }
  return Status::Fail(err, "poll", "the capture socket failed; open a new capture");
}

Status TpacketRing::Stop() {
  return Attach({Insn(BPF_RET | BPF_K, 0, 0, 0)});
}

Status TpacketRing::Quiesce() {
  Status status = Bind(kQuiesceProtocol);
  // Deleted: the kernel unhooked the socket and synchronized while taking the interface down.
  if (status.err == ENODEV) return Status::Ok();
  return status;
}

void TpacketRing::Close() {
  if (ring_ != nullptr) {
    // Failing munmap of our own mapping would be a programming error; nothing to report.
    munmap(ring_, ring_length_);
    ring_ = nullptr;
    ring_length_ = 0;
  }
  if (fd_ < 0) return;
  // Linux releases the descriptor even when close() reports an error; never retry it.
  close(fd_);
  fd_ = -1;
}

}  // namespace zbpf
