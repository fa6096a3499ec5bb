/*
 * blast: the benchmark's frame sender. Sends COUNT Ethernet frames of FRAMESIZE bytes out of
 * IFNAME with an AF_PACKET raw socket and sendmmsg batches, either as fast as possible
 * (RATEPPS 0) or paced at RATEPPS: one batch of BATCH frames per BATCH/RATEPPS seconds on
 * CLOCK_MONOTONIC (per-batch pacing, because a clock_nanosleep per frame costs more than a
 * 64-byte frame's whole send path and caps the rate far below the target).
 *
 *   blast IFNAME DSTMAC SRCMAC COUNT FRAMESIZE RATEPPS [BATCH]
 *
 * The frames are the test suite's (test/tools/sendframes.c): ethertype 0x88b5, "ZBPF", a
 * uint32 big-endian sequence number, zero padding. ENOBUFS/EAGAIN are retried after a short
 * pause, so every frame counted as sent was accepted by the kernel.
 *
 * Prints one JSON line: frames sent, nanoseconds from the first send to the last, and the
 * sender's own user and system CPU time (getrusage) in nanoseconds.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ETHERTYPE_TEST 0x88b5
#define MAX_BATCH 1024

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void usage(void) {
  fprintf(stderr, "usage: blast IFNAME DSTMAC SRCMAC COUNT FRAMESIZE RATEPPS [BATCH]\n");
  exit(2);
}

static void parse_mac(const char *text, uint8_t mac[6]) {
  unsigned v[6];
  if (sscanf(text, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) usage();
  for (int i = 0; i < 6; i++) mac[i] = (uint8_t)v[i];
}

static unsigned long parse_number(const char *text) {
  char *end = NULL;
  errno = 0;
  unsigned long value = strtoul(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0') usage();
  return value;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) die("clock_gettime");
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t timeval_ns(struct timeval tv) {
  return (uint64_t)tv.tv_sec * 1000000000ull + (uint64_t)tv.tv_usec * 1000ull;
}

static void sleep_until(uint64_t deadline) {
  struct timespec ts = {(time_t)(deadline / 1000000000ull), (long)(deadline % 1000000000ull)};
  int err;
  while ((err = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL)) == EINTR) {
  }
  if (err != 0) {
    errno = err;
    die("clock_nanosleep");
  }
}

int main(int argc, char **argv) {
  if (argc != 7 && argc != 8) usage();
  uint8_t dst[6], src[6];
  parse_mac(argv[2], dst);
  parse_mac(argv[3], src);
  unsigned long count = parse_number(argv[4]);
  unsigned long size = parse_number(argv[5]);
  unsigned long rate = parse_number(argv[6]);
  unsigned long batch = argc == 8 ? parse_number(argv[7]) : 64;
  if (size < 60 || size > 9000 || batch < 1 || batch > MAX_BATCH) usage();

  int fd = socket(AF_PACKET, SOCK_RAW, 0); /* protocol 0: send only, never queues input */
  if (fd < 0) die("socket(AF_PACKET)");
  struct sockaddr_ll addr;
  memset(&addr, 0, sizeof addr);
  addr.sll_family = AF_PACKET;
  addr.sll_ifindex = (int)if_nametoindex(argv[1]);
  if (addr.sll_ifindex == 0) die("if_nametoindex");
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) die("bind");

  uint8_t *frames = calloc(batch, size);
  struct mmsghdr *msgs = calloc(batch, sizeof *msgs);
  struct iovec *iov = calloc(batch, sizeof *iov);
  if (frames == NULL || msgs == NULL || iov == NULL) die("calloc");
  for (unsigned long i = 0; i < batch; i++) {
    uint8_t *frame = frames + i * size;
    memcpy(frame, dst, 6);
    memcpy(frame + 6, src, 6);
    frame[12] = ETHERTYPE_TEST >> 8;
    frame[13] = ETHERTYPE_TEST & 0xff;
    memcpy(frame + 14, "ZBPF", 4);
  }

  uint64_t interval = rate == 0 ? 0 : (uint64_t)batch * 1000000000ull / rate;
  uint64_t start = now_ns();
  uint64_t next = start;
  unsigned long sent = 0;
  while (sent < count) {
    unsigned n = (count - sent) < batch ? (unsigned)(count - sent) : (unsigned)batch;
    for (unsigned i = 0; i < n; i++) {
      uint8_t *frame = frames + (size_t)i * size;
      uint32_t be = htonl((uint32_t)(sent + i));
      memcpy(frame + 18, &be, 4);
      iov[i].iov_base = frame;
      iov[i].iov_len = size;
      memset(&msgs[i], 0, sizeof msgs[i]);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    unsigned done = 0;
    while (done < n) {
      int r = sendmmsg(fd, msgs + done, n - done, 0);
      if (r < 0) {
        if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) {
          struct timespec ts = {0, 100 * 1000};
          nanosleep(&ts, NULL);
          continue;
        }
        die("sendmmsg");
      }
      done += (unsigned)r;
    }
    sent += n;
    if (interval != 0 && sent < count) {
      next += interval;
      if (now_ns() < next) sleep_until(next);
    }
  }
  uint64_t elapsed = now_ns() - start;

  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) die("getrusage");
  printf("{\"sent\":%lu,\"ns\":%llu,\"utimeNs\":%llu,\"stimeNs\":%llu}\n", sent,
         (unsigned long long)elapsed, (unsigned long long)timeval_ns(ru.ru_utime),
         (unsigned long long)timeval_ns(ru.ru_stime));
  close(fd);
  return 0;
}
