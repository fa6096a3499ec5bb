/*
 * ring-floor: the least any TPACKET_V3 capturer can do, as a reference row in the benchmark.
 * It sets up the ring the way zbpf does (blocks of BLOCKSIZE bytes, RINGSIZE in all, a
 * 10 ms retire timeout, an accept-all filter returning SNAPLEN unless SNAPLEN keeps whole
 * packets, where zbpf attaches none) and then only counts: for
 * each block the kernel hands over it reads num_pkts from the block descriptor and gives the
 * block back, touching no packet. Whatever the kernel spends on its side is the same as for
 * any capturer with this ring, so this row's total CPU is the floor for all of them.
 *
 *   ring-floor IFNAME RINGSIZE BLOCKSIZE SNAPLEN
 *
 * Prints "READY" once bound; on SIGINT or SIGTERM, one JSON line: packets counted, and the
 * socket's PACKET_STATISTICS (packets the filter accepted, drops).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "reader.h"

static unsigned long number(const char *text, const char *what) { return positive_number("ring-floor", text, what); }

static int open_ring(const char *ifname, unsigned ring, unsigned block, unsigned snaplen, uint8_t **map) {
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (fd < 0) die("socket(AF_PACKET)");
  int version = TPACKET_V3;
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof(version)) != 0) die("PACKET_VERSION");
  if (snaplen < 65535) {
    struct sock_filter accept_all = BPF_STMT(BPF_RET | BPF_K, snaplen);
    struct sock_fprog program = {1, &accept_all};
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof(program)) != 0) die("SO_ATTACH_FILTER");
  }
  struct tpacket_req3 req;
  memset(&req, 0, sizeof(req));
  req.tp_block_size = block;
  req.tp_block_nr = ring / block;
  req.tp_frame_size = block;
  req.tp_frame_nr = req.tp_block_nr;
  req.tp_retire_blk_tov = 10;
  if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) != 0) die("PACKET_RX_RING");
  *map = mmap(NULL, (size_t)block * req.tp_block_nr, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (*map == MAP_FAILED) die("mmap");
  struct sockaddr_ll addr;
  memset(&addr, 0, sizeof(addr));
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = htons(ETH_P_ALL);
  addr.sll_ifindex = (int)if_nametoindex(ifname);
  if (addr.sll_ifindex == 0) die("if_nametoindex");
  if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) die("bind");
  return fd;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: ring-floor IFNAME RINGSIZE BLOCKSIZE SNAPLEN\n");
    return 2;
  }
  unsigned ring = (unsigned)number(argv[2], "RINGSIZE");
  unsigned block = (unsigned)number(argv[3], "BLOCKSIZE");
  unsigned snaplen = (unsigned)number(argv[4], "SNAPLEN");
  stop_on_signals();

  uint8_t *map;
  int fd = open_ring(argv[1], ring, block, snaplen, &map);
  unsigned blocks = ring / block;
  printf("READY\n");
  fflush(stdout);

  unsigned long long packets = 0;
  unsigned next = 0;
  struct pollfd pfd = {fd, POLLIN, 0};
  while (!stopping) {
    struct tpacket_block_desc *desc = (struct tpacket_block_desc *)(map + (size_t)next * block);
    if ((__atomic_load_n(&desc->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) == 0) {
      if (poll(&pfd, 1, 1000) < 0 && errno != EINTR) die("poll");
      continue;
    }
    packets += desc->hdr.bh1.num_pkts;
    __atomic_store_n(&desc->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    next = (next + 1) % blocks;
  }
  struct tpacket_stats_v3 stats;
  socklen_t len = sizeof(stats);
  if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &stats, &len) != 0) die("PACKET_STATISTICS");
  printf("{\"captured\":%llu,\"kernelReceived\":%u,\"kernelDropped\":%u}\n", packets, stats.tp_packets, stats.tp_drops);
  return 0;
}
