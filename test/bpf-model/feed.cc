// AF_PACKET capture for the model. Linux shows each frame to a packet socket bound to the
// interface, with its direction (sll_pkttype) and, with SO_TIMESTAMPNS, its receive time.
#include "feed.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "model.h"
#include "real_libc.h"

namespace zbpf::model {
namespace {

// Big enough for any frame a Linux interface hands to a packet socket, including GSO
// super-packets; MSG_TRUNC still reports the wire length of anything larger.
constexpr std::size_t kFrameBuffer = 256 * 1024;
// A large receive queue so that the socket, which FreeBSD does not have, is not where
// packets get lost; whatever it still loses is reported (AccountLostPackets).
constexpr int kReceiveQueueBytes = 8 * 1024 * 1024;
constexpr int kTickMillis = 1;
constexpr int kHousekeepingTicks = 10;  // presence and socket-drop checks every ~10 ms
constexpr int kMaxBurst = 512;          // packets per drain before the next tick

// Interface facts through a throwaway datagram socket.
int QueryInterface(const char* name, unsigned long request, ifreq* ifr) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return errno;
  std::memset(ifr, 0, sizeof *ifr);
  std::strncpy(ifr->ifr_name, name, IFNAMSIZ - 1);
  int err = libc::Ioctl(s, request, ifr) == 0 ? 0 : errno;
  if (libc::Close(s) != 0 && err == 0) err = errno;
  return err;
}

}  // namespace

// docs/freebsd-kernel.md §3 BIOCSETIF: The interface name is unknown ...: ENXIO.
int ResolveInterface(const char* name, Interface* out) {
  char bounded[IFNAMSIZ] = {};
  std::strncpy(bounded, name, IFNAMSIZ - 1);  // ifr_name need not be NUL-terminated
  const unsigned index = if_nametoindex(bounded);
  if (index == 0) return ENXIO;
  ifreq flags{};
  ifreq hw{};
  if (QueryInterface(bounded, SIOCGIFFLAGS, &flags) != 0 || QueryInterface(bounded, SIOCGIFHWADDR, &hw) != 0) {
    return ENXIO;
  }
  out->name = bounded;
  out->ifindex = static_cast<int>(index);
  out->loopback = (flags.ifr_flags & IFF_LOOPBACK) != 0;
  // Linux gives Ethernet framing to Ethernet, veth and loopback devices: DLT_EN10MB with a
  // 14-byte link header (§1, hdrlen 26). Anything else arrives without a link header.
  const bool ethernet_framed = hw.ifr_hwaddr.sa_family == ARPHRD_ETHER || hw.ifr_hwaddr.sa_family == ARPHRD_LOOPBACK;
  out->dlt = ethernet_framed ? kDltEn10mb : kDltRaw;
  out->link_hdrlen = ethernet_framed ? kEtherHeaderLen : 0;
  return 0;
}

Feed::Feed(const Interface& interface, PacketSink* sink) : interface_(interface), sink_(sink) {}

Feed::~Feed() {
  stopping_.store(true, std::memory_order_release);
  if (thread_.joinable()) {
    const std::uint64_t one = 1;
    if (::write(stop_fd_, &one, sizeof one) != sizeof one) Trace("feed stop signal: %s", std::strerror(errno));
    thread_.join();
  }
  if (socket_ >= 0 && libc::Close(socket_) != 0) Trace("close(feed socket): %s", std::strerror(errno));
  if (stop_fd_ >= 0 && libc::Close(stop_fd_) != 0) Trace("close(feed stop fd): %s", std::strerror(errno));
  delete[] buffer_;
}

int Feed::Open() {
  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) return errno;
  // Protocol 0: the socket queues nothing until bind() names both the interface and ETH_P_ALL
  // (packet(7)), so no frame of another interface is ever in its queue. A socket opened with
  // ETH_P_ALL would receive every interface's frames until the bind.
  socket_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (socket_ < 0) return errno;
  if (setsockopt(socket_, SOL_SOCKET, SO_RCVBUFFORCE, &kReceiveQueueBytes, sizeof kReceiveQueueBytes) != 0 &&
      setsockopt(socket_, SOL_SOCKET, SO_RCVBUF, &kReceiveQueueBytes, sizeof kReceiveQueueBytes) != 0) {
    Trace("SO_RCVBUF: %s", std::strerror(errno));  // a smaller queue still works
  }
  const int on = 1;
  if (setsockopt(socket_, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) != 0) return errno;
  sockaddr_ll address{};
  address.sll_family = AF_PACKET;
  address.sll_protocol = htons(ETH_P_ALL);
  address.sll_ifindex = interface_.ifindex;
  if (bind(socket_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    return errno == ENODEV ? ENXIO : errno;
  }
  buffer_ = new std::uint8_t[kFrameBuffer];
  return 0;
}

void Feed::Start() { thread_ = std::thread([this] { Run(); }); }

int Feed::EnablePromiscuous() {
  packet_mreq request{};
  request.mr_ifindex = interface_.ifindex;
  request.mr_type = PACKET_MR_PROMISC;
  return setsockopt(socket_, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &request, sizeof request) == 0 ? 0 : errno;
}

bool Feed::InterfacePresent() const {
  char name[IF_NAMESIZE];
  return if_indextoname(static_cast<unsigned>(interface_.ifindex), name) != nullptr;
}

void Feed::AccountSocketDrops() {
  tpacket_stats stats{};
  socklen_t len = sizeof stats;
  // Reading PACKET_STATISTICS resets it, so each call reports only new losses.
  if (getsockopt(socket_, SOL_PACKET, PACKET_STATISTICS, &stats, &len) != 0) return;
  if (stats.tp_drops != 0) sink_->AccountLostPackets(stats.tp_drops);
}

bool Feed::DrainSocket() {
  for (int burst = 0; burst < kMaxBurst; ++burst) {
    sockaddr_ll from{};
    iovec iov{buffer_, kFrameBuffer};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = recvmsg(socket_, &msg, MSG_TRUNC | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      // ENETDOWN is reported both when the interface goes down and when it is deleted;
      // only a deletion detaches a FreeBSD descriptor (§8.10).
      if (errno == ENETDOWN || errno == ENXIO || errno == ENODEV) return InterfacePresent();
      Trace("recvmsg on %s: %s", interface_.name.c_str(), std::strerror(errno));
      return true;
    }
    // Linux loopback shows every frame twice, outgoing and incoming; FreeBSD's lo0 taps it
    // once, on input (if_simloop sets rcvif first) [inference]. Keep the incoming copy.
    if (from.sll_pkttype == PACKET_OUTGOING && interface_.loopback) continue;
    timespec stamp{};
    bool stamped = false;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        std::memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
        stamped = true;
      }
    }
    if (!stamped && clock_gettime(CLOCK_REALTIME, &stamp) != 0) stamp = timespec{};
    const auto wirelen = static_cast<std::uint32_t>(n);
    const auto buflen = static_cast<std::uint32_t>(static_cast<std::size_t>(n) < kFrameBuffer ? n : kFrameBuffer);
    sink_->Tap(buffer_, buflen, wirelen, from.sll_pkttype == PACKET_OUTGOING, stamp);
  }
  return true;
}

void Feed::Run() {
  pollfd fds[2] = {{socket_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
  int ticks = 0;
  while (!stopping_.load(std::memory_order_acquire)) {
    // The 1 ms timeout is the model's tick: user acks are plain stores into shared memory
    // that the model cannot observe, so readiness is re-evaluated at least this often.
    const int ready = poll(fds, 2, kTickMillis);
    if (ready < 0 && errno != EINTR) Trace("feed poll: %s", std::strerror(errno));
    if (stopping_.load(std::memory_order_acquire)) break;
    if (ready > 0 && (fds[0].revents & (POLLIN | POLLERR)) != 0 && !DrainSocket()) {
      sink_->InterfaceDeparted();
      return;
    }
    if (++ticks >= kHousekeepingTicks) {
      ticks = 0;
      AccountSocketDrops();
      // A deletion that follows a link-down reports no second error: look for it.
      if (!InterfacePresent()) {
        sink_->InterfaceDeparted();
        return;
      }
    }
    sink_->Tick();
  }
}

}  // namespace zbpf::model
