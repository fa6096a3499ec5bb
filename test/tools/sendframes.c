/*
 * sendframes: sends numbered test frames out of one interface with an AF_PACKET raw socket,
 * in sendmmsg batches when unpaced. Command line and frames: frames.h.
 */
#define _GNU_SOURCE
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frames.h"

#define BATCH 64

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

/* As fast as the kernel takes them, BATCH frames per sendmmsg. */
static unsigned long send_fast(int fd, uint8_t *frames, const struct send_plan *plan) {
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  unsigned long sent = 0;
  while (sent < plan->count) {
    unsigned n = (plan->count - sent) < BATCH ? (unsigned)(plan->count - sent) : BATCH;
    memset(msgs, 0, sizeof msgs);
    for (unsigned i = 0; i < n; i++) {
      uint8_t *frame = frames + (size_t)i * plan->size;
      build_frame(frame, plan, plan->first + (uint32_t)(sent + i));
      iov[i].iov_base = frame;
      iov[i].iov_len = plan->size;
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    unsigned done = 0;
    while (done < n) {
      int r = sendmmsg(fd, msgs + done, n - done, 0);
      if (r >= 0) {
        done += (unsigned)r;
        continue;
      }
      if (!transient(errno)) die("sendmmsg");
      pause_briefly();
    }
    sent += n;
  }
  return sent;
}

static unsigned long send_paced(int fd, uint8_t *frame, const struct send_plan *plan) {
  struct timespec next;
  pace_start(&next);
  unsigned long sent = 0;
  while (sent < plan->count) {
    build_frame(frame, plan, plan->first + (uint32_t)sent);
    if (send(fd, frame, plan->size, 0) < 0) {
      if (!transient(errno)) die("send");
      pause_briefly();
      continue;
    }
    sent++;
    pace_wait(&next, plan->rate);
  }
  return sent;
}

int main(int argc, char **argv) {
  struct send_plan plan = parse_plan(argc, argv, "sendframes");
  int fd = open_sender(plan.ifname);
  uint8_t *frames = calloc(BATCH, plan.size);
  if (frames == NULL) die("calloc");
  unsigned long sent = plan.rate == 0 ? send_fast(fd, frames, &plan) : send_paced(fd, frames, &plan);
  printf("%lu\n", sent);
  free(frames);
  if (close(fd) != 0) die("close");
  return 0;
}
