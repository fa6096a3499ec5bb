// The packet source behind an attached descriptor: an AF_PACKET socket on the Linux
// interface and a thread that hands each packet to the descriptor, standing in for the
// driver calling bpf_mtap() (docs/freebsd-kernel.md §4). The same thread is the model's ~1 ms tick.
#pragma once

#include <time.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace zbpf::model {

// What BIOCSETIF resolved the name to (bpf_if in FreeBSD terms).
struct Interface {
  std::string name;
  int ifindex = 0;
  unsigned dlt = 0;           // BIOCGDLT answer
  unsigned link_hdrlen = 0;   // bif_hdrlen: 14 for Ethernet framing (§1)
  bool loopback = false;
};

// Implemented by the descriptor; called on the feed thread.
class PacketSink {
 public:
  virtual ~PacketSink() = default;
  // One packet: `buflen` bytes at `packet` of a `wirelen`-byte frame.
  virtual void Tap(const std::uint8_t* packet, std::uint32_t buflen, std::uint32_t wirelen, bool outbound,
                   const timespec& stamp) = 0;
  // Packets the socket itself lost (its receive queue overflowed).
  virtual void AccountLostPackets(std::uint32_t count) = 0;
  // The interface is gone (§8.10).
  virtual void InterfaceDeparted() = 0;
  // Periodic re-evaluation of readiness and of the read-timeout callout (§4).
  virtual void Tick() = 0;
};

// ENXIO if `name` is not an interface of the current network namespace.
int ResolveInterface(const char* name, Interface* out);

class Feed {
 public:
  Feed(const Interface& interface, PacketSink* sink);
  ~Feed();  // stops and joins the thread, closes the socket
  Feed(const Feed&) = delete;
  Feed& operator=(const Feed&) = delete;

  // Opens and binds the socket; 0 or an errno value. The thread starts with Start().
  int Open();
  void Start();
  // PACKET_MR_PROMISC membership on the socket (BIOCPROMISC); 0 or an errno value. The
  // membership ends when the socket closes, like bpf_detachd turning promiscuous mode off.
  int EnablePromiscuous();

 private:
  void Run();
  // Receives everything queued; false once the interface is gone.
  bool DrainSocket();
  bool InterfacePresent() const;
  void AccountSocketDrops();

  Interface interface_;
  PacketSink* sink_;
  int socket_ = -1;
  int stop_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::uint8_t* buffer_ = nullptr;
};

}  // namespace zbpf::model
