/*
 * ebpf-floor: a reference row for the benchmark, not a capturer. It measures what the kernel's
 * side of a capture costs on another path than AF_PACKET's tpacket_rcv: an eBPF program at the
 * interface's TCX ingress hook (Linux 6.6 or later) copies each packet into a BPF ring buffer
 * (BPF_MAP_TYPE_RINGBUF), the eBPF form of the same kernel-writes, user-acks handoff.
 *
 *   ebpf-floor IFNAME RINGSIZE CAPLEN
 *
 * Each record: u64 timestamp (bpf_ktime_get_tai_ns), u32 wire length, u32 bytes kept, then
 * CAPLEN bytes, of which min(length, CAPLEN) are copied (the verifier wants a constant
 * reservation). Like a TPACKET_V3 ring of eight blocks with a 10 ms retire timeout, the reader
 * is woken once an eighth of the ring is filled, and otherwise looks every 10 ms; it counts
 * records and touches no packet. A record that finds the ring full is counted as a drop in an
 * array map.
 *
 * Prints "READY" once attached; on SIGINT or SIGTERM, one JSON line as ring-floor does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "reader.h"

/* Linux 6.6+; Debian 12's headers are older. */
#define ATTACH_TCX_INGRESS 46
#define TCX_NEXT (-1)

static unsigned long number(const char *text, const char *what) { return positive_number("ebpf-floor", text, what); }

static long bpf(int cmd, union bpf_attr *attr) { return syscall(SYS_bpf, cmd, attr, sizeof(*attr)); }

static int map_create(unsigned type, unsigned key, unsigned value, unsigned entries) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_type = type;
  a.key_size = key;
  a.value_size = value;
  a.max_entries = entries;
  int fd = (int)bpf(BPF_MAP_CREATE, &a);
  if (fd < 0) die("BPF_MAP_CREATE");
  return fd;
}

#define INSN(c, d, s, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
#define MOV_REG(d, s) INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV_IMM(d, i) INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define ADD_IMM(d, i) INSN(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, i)
#define LDX(size, d, s, o) INSN(BPF_LDX | BPF_MEM | (size), d, s, o, 0)
#define STX(size, d, s, o) INSN(BPF_STX | BPF_MEM | (size), d, s, o, 0)
#define ST(size, d, o, i) INSN(BPF_ST | BPF_MEM | (size), d, 0, o, i)
#define ATOMIC_ADD(d, s, o) INSN(BPF_STX | BPF_ATOMIC | BPF_DW, d, s, o, BPF_ADD)
#define JMP_IMM(op, d, i, o) INSN(BPF_JMP | (op) | BPF_K, d, 0, o, i)
#define CALL(f) INSN(BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define EXIT() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
#define LD_MAP(d, fd) INSN(BPF_LD | BPF_DW | BPF_IMM, d, BPF_PSEUDO_MAP_FD, 0, fd), INSN(0, 0, 0, 0, 0)

static int load_program(int ring, int drops, int caplen, int wake_bytes) {
  const int record = (BPF_RINGBUF_HDR_SZ + 16 + caplen + 7) & ~7; /* what one record adds to the ring */
  struct bpf_insn prog[] = {
      MOV_REG(6, 1),
      LD_MAP(1, ring),
      MOV_IMM(2, 16 + caplen),
      MOV_IMM(3, 0),
      CALL(BPF_FUNC_ringbuf_reserve),
      JMP_IMM(BPF_JEQ, 0, 0, 26), /* -> full */
      MOV_REG(7, 0),
      CALL(BPF_FUNC_ktime_get_tai_ns),
      STX(BPF_DW, 7, 0, 0),
      LDX(BPF_W, 4, 6, offsetof(struct __sk_buff, len)),
      STX(BPF_W, 7, 4, 8),
      JMP_IMM(BPF_JLE, 4, caplen, 1),
      MOV_IMM(4, caplen),
      STX(BPF_W, 7, 4, 12),
      JMP_IMM(BPF_JEQ, 4, 0, 5), /* -> submit */
      MOV_REG(1, 6),
      MOV_IMM(2, 0),
      MOV_REG(3, 7),
      ADD_IMM(3, 16),
      CALL(BPF_FUNC_skb_load_bytes),
      /* submit, waking the reader with the record that makes the unread data reach wake_bytes
       * (waking it with every record from there on costs an interrupt each until it has read): */
      LD_MAP(1, ring),
      MOV_IMM(2, BPF_RB_AVAIL_DATA),
      CALL(BPF_FUNC_ringbuf_query),
      MOV_IMM(2, BPF_RB_NO_WAKEUP),
      JMP_IMM(BPF_JLT, 0, wake_bytes, 2),
      JMP_IMM(BPF_JGE, 0, wake_bytes + record, 1),
      MOV_IMM(2, BPF_RB_FORCE_WAKEUP),
      MOV_REG(1, 7),
      CALL(BPF_FUNC_ringbuf_submit),
      MOV_IMM(0, TCX_NEXT),
      EXIT(),
      /* full: drops[0] += 1 */
      ST(BPF_W, 10, -4, 0),
      LD_MAP(1, drops),
      MOV_REG(2, 10),
      ADD_IMM(2, -4),
      CALL(BPF_FUNC_map_lookup_elem),
      JMP_IMM(BPF_JEQ, 0, 0, 2),
      MOV_IMM(1, 1),
      ATOMIC_ADD(0, 1, 0),
      MOV_IMM(0, TCX_NEXT),
      EXIT(),
  };
  static char log[65536];
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_type = BPF_PROG_TYPE_SCHED_CLS;
  a.insns = (uint64_t)(uintptr_t)prog;
  a.insn_cnt = sizeof(prog) / sizeof(prog[0]);
  a.license = (uint64_t)(uintptr_t) "Dual BSD/GPL";
  a.log_buf = (uint64_t)(uintptr_t)log;
  a.log_size = sizeof(log);
  a.log_level = 1;
  int fd = (int)bpf(BPF_PROG_LOAD, &a);
  if (fd < 0) {
    fprintf(stderr, "%s\n", log);
    die("BPF_PROG_LOAD");
  }
  return fd;
}

static int attach_ingress(int prog, unsigned ifindex) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.link_create.prog_fd = (uint32_t)prog;
  a.link_create.target_ifindex = ifindex;
  a.link_create.attach_type = ATTACH_TCX_INGRESS;
  int fd = (int)bpf(BPF_LINK_CREATE, &a);
  if (fd < 0) die("BPF_LINK_CREATE (TCX ingress needs Linux 6.6 or later)");
  return fd;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: ebpf-floor IFNAME RINGSIZE CAPLEN\n");
    return 2;
  }
  unsigned ifindex = if_nametoindex(argv[1]);
  if (ifindex == 0) die("if_nametoindex");
  unsigned long size = number(argv[2], "RINGSIZE");
  long page = sysconf(_SC_PAGESIZE);
  if ((size & (size - 1)) != 0 || size < (unsigned long)page || size > (1ul << 30)) {
    fprintf(stderr, "ebpf-floor: RINGSIZE must be a power of two from one page to 1 GiB, got %lu\n", size);
    return 2;
  }
  int caplen = (int)number(argv[3], "CAPLEN");
  if (caplen > 65535) {
    fprintf(stderr, "ebpf-floor: CAPLEN must be at most 65535, got %d\n", caplen);
    return 2;
  }
  stop_on_signals();

  int ring = map_create(BPF_MAP_TYPE_RINGBUF, 0, 0, (unsigned)size);
  int drops = map_create(BPF_MAP_TYPE_ARRAY, 4, 8, 1);
  uint64_t *consumer = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, ring, 0);
  if (consumer == MAP_FAILED) die("mmap consumer");
  uint8_t *producer = mmap(NULL, (size_t)page + 2 * (size_t)size, PROT_READ, MAP_SHARED, ring, page);
  if (producer == MAP_FAILED) die("mmap producer");
  const uint8_t *data = producer + page;
  int prog = load_program(ring, drops, caplen, (int)(size / 8));
  int link = attach_ingress(prog, ifindex);
  printf("READY\n");
  fflush(stdout);

  unsigned long long packets = 0;
  uint64_t mask = size - 1;
  int epoll = epoll_create1(EPOLL_CLOEXEC);
  if (epoll < 0) die("epoll_create1");
  struct epoll_event readable = {.events = EPOLLIN};
  if (epoll_ctl(epoll, EPOLL_CTL_ADD, ring, &readable) != 0) die("epoll_ctl");
  for (;;) {
    /* Detach before the last drain, so every record the program wrote is counted. */
    int last = stopping;
    if (last) close(link);
    uint64_t cons = *consumer;
    uint64_t prod = __atomic_load_n((uint64_t *)producer, __ATOMIC_ACQUIRE);
    while (cons < prod) {
      uint32_t len = __atomic_load_n((const uint32_t *)(data + (cons & mask)), __ATOMIC_ACQUIRE);
      if (len & BPF_RINGBUF_BUSY_BIT) break;
      if (!(len & BPF_RINGBUF_DISCARD_BIT)) packets++;
      len &= ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
      cons += (BPF_RINGBUF_HDR_SZ + len + 7) & ~7u;
    }
    __atomic_store_n(consumer, cons, __ATOMIC_RELEASE);
    if (last) break;
    if (epoll_wait(epoll, &readable, 1, 10) < 0 && errno != EINTR) die("epoll_wait");
  }
  uint32_t key = 0;
  uint64_t dropped = 0;
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_fd = (uint32_t)drops;
  a.key = (uint64_t)(uintptr_t)&key;
  a.value = (uint64_t)(uintptr_t)&dropped;
  if (bpf(BPF_MAP_LOOKUP_ELEM, &a) != 0) die("BPF_MAP_LOOKUP_ELEM");
  printf("{\"captured\":%llu,\"kernelReceived\":%llu,\"kernelDropped\":%llu}\n", packets, packets + (unsigned long long)dropped,
         (unsigned long long)dropped);
  return 0;
}
