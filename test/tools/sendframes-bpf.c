/*
 * sendframes-bpf: sends numbered test frames out of one interface by writing them to a
 * /dev/bpf descriptor: the FreeBSD counterpart of sendframes.c (which needs AF_PACKET).
 *
 *   sendframes-bpf IFNAME DSTMAC SRCMAC COUNT FIRSTSEQ FRAMESIZE RATEPPS
 *
 * Same command line, frames and output as sendframes.c (frames.h).
 *
 * The descriptor is opened write-only, so the kernel keeps it on the writer list and it
 * captures nothing (docs/freebsd-kernel.md §8.15); BIOCSHDRCMPLT makes the kernel send SRCMAC as
 * written instead of the interface's own address. One write(2) is one frame; a frame may
 * be at most the interface's MTU plus the 14-byte Ethernet header.
 *
 * It also compiles on Linux, with FreeBSD's request numbers written out (docs/freebsd-kernel.md
 * §2), so that test/freebsd-kernel.test.ts can check it builds everywhere.
 */
#define _GNU_SOURCE
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <fcntl.h>
#include <net/if.h>
#include <unistd.h>

#include "frames.h"

#if defined(__FreeBSD__)
#include <net/bpf.h>
#else
#define BIOCSETIF 0x8020426cUL     /* _IOW('B', 108, struct ifreq) */
#define BIOCSHDRCMPLT 0x80044275UL /* _IOW('B', 117, u_int) */
#endif

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

static unsigned long send_frames(int fd, uint8_t *frame, const struct send_plan *plan) {
  struct timespec next;
  pace_start(&next);
  unsigned long sent = 0;
  while (sent < plan->count) {
    build_frame(frame, plan, plan->first + (uint32_t)sent);
    send_frame(fd, frame, plan->size);
    sent++;
    if (plan->rate != 0) pace_wait(&next, plan->rate);
  }
  return sent;
}

int main(int argc, char **argv) {
  struct send_plan plan = parse_plan(argc, argv, "sendframes-bpf");
  int fd = open_sender(plan.ifname);
  uint8_t *frame = calloc(1, plan.size);
  if (frame == NULL) die("calloc");
  unsigned long sent = send_frames(fd, frame, &plan);
  printf("%lu\n", sent);
  free(frame);
  if (close(fd) != 0) die("close");
  return 0;
}
