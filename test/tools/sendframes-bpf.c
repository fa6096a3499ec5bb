/*
 * sendframes-bpf: sends numbered test frames out of one interface by writing them to a
 * /dev/bpf descriptor: the FreeBSD counterpart of sendframes.c (which needs AF_PACKET).
 *
 *   sendframes-bpf IFNAME DSTMAC SRCMAC COUNT FIRSTSEQ FRAMESIZE RATEPPS
 *
 * Same command line, frames and output as sendframes.c: DSTMAC, SRCMAC, ethertype 0x88b5
 * (IEEE local experimental), "ZBPF", the sequence number as uint32 big-endian, zero padding
 * up to FRAMESIZE bytes. RATEPPS 0 writes as fast as the interface takes them; otherwise
 * frames are paced on CLOCK_MONOTONIC. ENOBUFS/EAGAIN are retried after a short pause.
 * Prints the number of frames sent on stdout.
 *
 * The descriptor is opened write-only, so the kernel keeps it on the writer list and it
 * captures nothing (freebsd-zbuf.md §8.15); BIOCSHDRCMPLT makes the kernel send SRCMAC as
 * written instead of the interface's own address. One write(2) is one frame; a frame may
 * be at most the interface's MTU plus the 14-byte Ethernet header.
 *
 * It also compiles on Linux, with FreeBSD's request numbers written out (freebsd-zbuf.md
 * §2), so that test/freebsd-kernel.test.ts can check it builds everywhere.
 */
#define _GNU_SOURCE
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__FreeBSD__)
#include <net/bpf.h>
#else
#define BIOCSETIF 0x8020426cUL     /* _IOW('B', 108, struct ifreq) */
#define BIOCSHDRCMPLT 0x80044275UL /* _IOW('B', 117, u_int) */
#endif

#define ETHERTYPE_TEST 0x88b5
#define MAX_FRAME 65535

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void usage(void) {
  fprintf(stderr, "usage: sendframes-bpf IFNAME DSTMAC SRCMAC COUNT FIRSTSEQ FRAMESIZE RATEPPS\n");
  exit(2);
}

static void parse_mac(const char *text, uint8_t mac[6]) {
  unsigned v[6];
  if (sscanf(text, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) usage();
  for (int i = 0; i < 6; i++) {
    if (v[i] > 0xff) usage();
    mac[i] = (uint8_t)v[i];
  }
}

static unsigned long parse_number(const char *text) {
  char *end = NULL;
  errno = 0;
  unsigned long value = strtoul(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0') usage();
  return value;
}

static int open_sender(const char *ifname) {
  if (strlen(ifname) >= IFNAMSIZ) usage();
  int fd = open("/dev/bpf", O_WRONLY | O_CLOEXEC);
  if (fd < 0) die("open(/dev/bpf)");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, ifname, sizeof ifr.ifr_name - 1);
  if (ioctl(fd, BIOCSETIF, &ifr) != 0) die("ioctl(BIOCSETIF)");
  unsigned complete = 1;
  if (ioctl(fd, BIOCSHDRCMPLT, &complete) != 0) die("ioctl(BIOCSHDRCMPLT)");
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

/* Writes one frame, retrying while the interface's queue is full. */
static void send_frame(int fd, const uint8_t *frame, size_t size) {
  for (;;) {
    ssize_t n = write(fd, frame, size);
    if (n == (ssize_t)size) return;
    if (n >= 0) {
      fprintf(stderr, "write(/dev/bpf): short write %zd of %zu\n", n, size);
      exit(1);
    }
    if (!transient(errno)) die("write(/dev/bpf)");
    pause_briefly();
  }
}

static void add_ns(struct timespec *t, uint64_t ns) {
  uint64_t total = (uint64_t)t->tv_nsec + ns;
  t->tv_sec += (time_t)(total / 1000000000ull);
  t->tv_nsec = (long)(total % 1000000000ull);
}

static unsigned long send_frames(int fd, uint8_t *frame, size_t size, const uint8_t dst[6], const uint8_t src[6],
                                 uint32_t first, unsigned long count, unsigned long rate) {
  uint64_t interval = rate == 0 ? 0 : 1000000000ull / rate;
  struct timespec next;
  if (clock_gettime(CLOCK_MONOTONIC, &next) != 0) die("clock_gettime");
  unsigned long sent = 0;
  while (sent < count) {
    build_frame(frame, size, dst, src, first + (uint32_t)sent);
    send_frame(fd, frame, size);
    sent++;
    if (interval == 0) continue;
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
  uint8_t *frame = calloc(1, size);
  if (frame == NULL) die("calloc");
  unsigned long sent = send_frames(fd, frame, size, dst, src, first, count, rate);
  printf("%lu\n", sent);
  free(frame);
  if (close(fd) != 0) die("close");
  return 0;
}
