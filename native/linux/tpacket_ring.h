// A Linux AF_PACKET socket with a TPACKET_V3 receive ring, set up for capture on one
// interface. Syscalls and memory only: which block is next, walking its records and giving
// it back live in lib/providers/tpacket.ts and lib/protocol/tpacket3-records.ts.
//
// Unlike FreeBSD's zero-copy buffers, the ring is the kernel's own memory, mapped from the
// socket. The mapping holds a reference to the socket's file, so closing the descriptor alone
// would not stop the capture: Stop() makes the socket inert while the ring stays readable, and
// Close() unmaps before closing (the order libpcap uses, and the one that releases the socket).
#pragma once

#include <linux/filter.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../core/status.h"

namespace zbpf {

enum class TpacketDirection { kInOut, kIn, kOut };

struct TpacketOptions {
  std::string interface;
  std::size_t buffer_size = 0;   // bytes for the whole ring; 0 picks kDefaultRingBytes
  std::size_t snaplen = 262144;  // sizes the blocks so that one whole packet fits
  unsigned timeout_ms = 10;      // tp_retire_blk_tov: a partly filled block is handed over after this
  TpacketDirection direction = TpacketDirection::kInOut;
  bool promiscuous = false;
  std::vector<sock_filter> filter;  // attached before bind, so no packet escapes it
};

// PACKET_STATISTICS totals since open (the kernel resets its counters on every read).
struct TpacketCounters {
  std::uint64_t packets = 0;  // accepted by the filter, dropped ones included
  std::uint64_t drops = 0;    // accepted but no block was free
  std::uint64_t freezes = 0;  // times the ring froze because every block was ours
};

struct RingGeometry {
  std::size_t block_size = 0;  // a power-of-two multiple of the page size
  unsigned block_count = 0;
};

// The block size and count for a ring of about `buffer_size` bytes holding packets of up to
// `snaplen` bytes (see the policy in tpacket_ring.cc).
RingGeometry PlanRing(std::size_t buffer_size, std::size_t snaplen, std::size_t page_size);

// The DLT_* value BPF would report for an ARPHRD_* interface type; -1 if zbpf has no
// faithful label for the bytes such an interface delivers.
int LinkTypeForArphrd(unsigned arphrd);

class TpacketRing {
 public:
  static Status Open(const TpacketOptions& options, std::unique_ptr<TpacketRing>* out);

  TpacketRing(const TpacketRing&) = delete;
  TpacketRing& operator=(const TpacketRing&) = delete;
  ~TpacketRing();

  int fd() const { return fd_; }
  unsigned link_type() const { return link_type_; }
  std::size_t block_size() const { return geometry_.block_size; }
  unsigned block_count() const { return geometry_.block_count; }
  unsigned char* block(unsigned index) const { return ring_ + index * geometry_.block_size; }
  bool open() const { return fd_ >= 0; }

  // Reads PACKET_STATISTICS and adds it to the totals since open.
  Status Stats(TpacketCounters* totals);
  // SO_ATTACH_FILTER again: the kernel swaps programs atomically and the ring keeps its packets.
  Status SetFilter(const std::vector<sock_filter>& program);
  // False once the interface we bound to no longer exists.
  bool Attached() const;
  // The error the kernel reported on the socket (SO_ERROR), explained; Ok if there is none.
  Status PendingError();
  // Stops capturing but keeps the socket and the ring: a filter that rejects everything.
  // Packets already past the old filter may still be landing in the current block.
  Status Stop();
  // After Stop(): waits until no packet is being written into the ring any more (a rebind,
  // which the kernel completes with synchronize_net()). Costs one RCU grace period.
  Status Quiesce();
  // Unmaps the ring, then closes the socket (which the kernel then releases).
  void Close();

 private:
  TpacketRing() = default;

  Status CreateSocket();
  Status LookUpInterface(const std::string& name);
  Status SetVersion();
  Status SetDirection(TpacketDirection direction);
  Status SetUpRing(std::size_t buffer_size, std::size_t snaplen, unsigned timeout_ms);
  Status SetPromiscuous();
  Status Bind(std::uint16_t protocol);
  Status Attach(const std::vector<sock_filter>& program);
  Status Detach();

  int fd_ = -1;
  int ifindex_ = 0;
  std::string interface_;
  TpacketDirection direction_ = TpacketDirection::kInOut;
  bool loopback_ = false;
  unsigned link_type_ = 0;
  RingGeometry geometry_;
  unsigned char* ring_ = nullptr;
  std::size_t ring_length_ = 0;
  TpacketCounters totals_;
};

}  // namespace zbpf
