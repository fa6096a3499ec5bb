/*
 * sendframes: sends numbered test frames out of one interface with an AF_PACKET raw socket.
 *
 *   sendframes IFNAME DSTMAC SRCMAC COUNT FIRSTSEQ FRAMESIZE RATEPPS
 *
 * Frame: DSTMAC, SRCMAC, ethertype 0x88b5 (IEEE local experimental), then "ZBPF", the
 * sequence number as uint32 big-endian, and zero padding up to FRAMESIZE bytes.
 * RATEPPS 0 sends as fast as possible with sendmmsg batches; otherwise frames are paced
 * on CLOCK_MONOTONIC with clock_nanosleep. ENOBUFS/EAGAIN are retried after a short pause.
 * Prints the number of frames sent on stdout.
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ETHERTYPE_TEST 0x88b5
#define MAX_FRAME 65535
#define BATCH 64

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void usage(void) {
  fprintf(stderr, "usage: sendframes IFNAME DSTMAC SRCMAC COUNT FIRSTSEQ FRAMESIZE RATEPPS\n");
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

static int open_sender(const char *ifname) {
  /* Protocol 0: this socket only sends, it never queues received frames. */
  int fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0) die("socket(AF_PACKET)");
  unsigned index = if_nametoindex(ifname);
  if (index == 0) die("if_nametoindex");
  struct sockaddr_ll addr;
  memset(&addr, 0, sizeof addr);
  addr.sll_family = AF_PACKET;
  addr.sll_ifindex = (int)index;
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) die("bind");
  return fd;
}

static void build_frame(uint8_t *frame, size_t size, const uint8_t dst[6], const uint8_t src[6], uint32_t seq) {
  memset(frame, 0, size);
  memcpy(frame, dst, 6);
  memcpy(frame + 6, src, 6);
  frame[12] = ETHERTYPE_TEST >> 8;
  frame[13] = ETHERTYPE_TEST & 0xff;
  memcpy(frame + 14, "ZBPF", 4);
  uint32_t be = htonl(seq);
  memcpy(frame + 18, &be, 4);
}

static int transient(int err) { return err == ENOBUFS || err == EAGAIN || err == EINTR; }

static void pause_briefly(void) {
  struct timespec ts = {0, 200 * 1000};
  nanosleep(&ts, NULL);
}

/* Sends frames [seq, seq+n) in sendmmsg batches; returns how many went out. */
static unsigned long send_fast(int fd, uint8_t *frames, size_t size, const uint8_t dst[6],
                               const uint8_t src[6], uint32_t first, unsigned long count) {
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  unsigned long sent = 0;
  while (sent < count) {
    unsigned n = (count - sent) < BATCH ? (unsigned)(count - sent) : BATCH;
    memset(msgs, 0, sizeof msgs);
    for (unsigned i = 0; i < n; i++) {
      uint8_t *frame = frames + (size_t)i * size;
      build_frame(frame, size, dst, src, first + (uint32_t)(sent + i));
      iov[i].iov_base = frame;
      iov[i].iov_len = size;
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    unsigned done = 0;
    while (done < n) {
      int r = sendmmsg(fd, msgs + done, n - done, 0);
      if (r < 0) {
        if (transient(errno)) {
          pause_briefly();
          continue;
        }
        die("sendmmsg");
      }
      done += (unsigned)r;
    }
    sent += n;
  }
  return sent;
}

static void add_ns(struct timespec *t, uint64_t ns) {
  uint64_t total = (uint64_t)t->tv_nsec + ns;
  t->tv_sec += (time_t)(total / 1000000000ull);
  t->tv_nsec = (long)(total % 1000000000ull);
}

static unsigned long send_paced(int fd, uint8_t *frame, size_t size, const uint8_t dst[6],
                                const uint8_t src[6], uint32_t first, unsigned long count,
                                unsigned long rate) {
  uint64_t interval = 1000000000ull / rate;
  struct timespec next;
  if (clock_gettime(CLOCK_MONOTONIC, &next) != 0) die("clock_gettime");
  unsigned long sent = 0;
  while (sent < count) {
    build_frame(frame, size, dst, src, first + (uint32_t)sent);
    ssize_t r = send(fd, frame, size, 0);
    if (r < 0) {
      if (transient(errno)) {
        pause_briefly();
        continue;
      }
      die("send");
    }
    sent++;
    add_ns(&next, interval);
    int err;
    while ((err = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL)) == EINTR) {
    }
    if (err != 0) {
      errno = err;
      die("clock_nanosleep");
    }
  }
  return sent;
}

int main(int argc, char **argv) {
  if (argc != 8) usage();
  uint8_t dst[6], src[6];
  parse_mac(argv[2], dst);
  parse_mac(argv[3], src);
  unsigned long count = parse_number(argv[4]);
  uint32_t first = (uint32_t)parse_number(argv[5]);
  unsigned long size = parse_number(argv[6]);
  unsigned long rate = parse_number(argv[7]);
  if (size < 60 || size > MAX_FRAME) usage();

  int fd = open_sender(argv[1]);
  uint8_t *frames = calloc(BATCH, size);
  if (frames == NULL) die("calloc");
  unsigned long sent = rate == 0 ? send_fast(fd, frames, size, dst, src, first, count)
                                 : send_paced(fd, frames, size, dst, src, first, count, rate);
  printf("%lu\n", sent);
  free(frames);
  if (close(fd) != 0) die("close");
  return 0;
}
