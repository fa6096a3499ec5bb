/*
 * What both test frame senders share (sendframes.c over AF_PACKET, sendframes-bpf.c over
 * /dev/bpf): the command line, the frame, pacing and error handling.
 *
 *   SENDER IFNAME DSTMAC SRCMAC COUNT FIRSTSEQ FRAMESIZE RATEPPS [TAGS]
 *
 * Frame: DSTMAC, SRCMAC, the VLAN tags in TAGS if any (hex TPID:TCI pairs, outermost first,
 * e.g. 88a8:012c,8100:0190), ethertype 0x88b5 (IEEE local experimental), then "ZBPF", the
 * sequence number as uint32 big-endian, and zero padding up to FRAMESIZE bytes. RATEPPS 0
 * sends as fast as possible; otherwise frames are paced on CLOCK_MONOTONIC. ENOBUFS/EAGAIN
 * are retried after a short pause. The sender prints the number of frames sent on stdout.
 */
#ifndef ZBPF_TEST_FRAMES_H
#define ZBPF_TEST_FRAMES_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ETHERTYPE_TEST 0x88b5
#define MAX_FRAME 65535
#define MAX_TAGS 4

struct send_plan {
  const char *ifname;
  uint8_t dst[6];
  uint8_t src[6];
  unsigned long count;
  uint32_t first;
  unsigned long size;
  unsigned long rate;
  unsigned tag_count;
  uint16_t tags[MAX_TAGS][2]; /* TPID, TCI */
};

static const char *program = "sendframes";

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void usage(void) {
  fprintf(stderr, "usage: %s IFNAME DSTMAC SRCMAC COUNT FIRSTSEQ FRAMESIZE RATEPPS [TPID:TCI,...]\n", program);
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

static void parse_tags(const char *text, struct send_plan *plan) {
  const char *at = text;
  while (*at != '\0') {
    unsigned tpid, tci;
    int used = 0;
    if (plan->tag_count == MAX_TAGS || sscanf(at, "%4x:%4x%n", &tpid, &tci, &used) != 2) usage();
    plan->tags[plan->tag_count][0] = (uint16_t)tpid;
    plan->tags[plan->tag_count][1] = (uint16_t)tci;
    plan->tag_count++;
    at += used;
    if (*at == ',') at++;
  }
}

static struct send_plan parse_plan(int argc, char **argv, const char *name) {
  program = name;
  if (argc != 8 && argc != 9) usage();
  struct send_plan plan;
  memset(&plan, 0, sizeof plan);
  plan.ifname = argv[1];
  parse_mac(argv[2], plan.dst);
  parse_mac(argv[3], plan.src);
  plan.count = parse_number(argv[4]);
  plan.first = (uint32_t)parse_number(argv[5]);
  plan.size = parse_number(argv[6]);
  plan.rate = parse_number(argv[7]);
  if (argc == 9) parse_tags(argv[8], &plan);
  if (plan.size < 60 || plan.size > MAX_FRAME) usage();
  return plan;
}

static void build_frame(uint8_t *frame, const struct send_plan *plan, uint32_t seq) {
  memset(frame, 0, plan->size);
  memcpy(frame, plan->dst, 6);
  memcpy(frame + 6, plan->src, 6);
  uint8_t *at = frame + 12;
  for (unsigned i = 0; i < plan->tag_count; i++, at += 4) {
    at[0] = (uint8_t)(plan->tags[i][0] >> 8);
    at[1] = (uint8_t)plan->tags[i][0];
    at[2] = (uint8_t)(plan->tags[i][1] >> 8);
    at[3] = (uint8_t)plan->tags[i][1];
  }
  at[0] = ETHERTYPE_TEST >> 8;
  at[1] = ETHERTYPE_TEST & 0xff;
  memcpy(at + 2, "ZBPF", 4);
  uint32_t be = htonl(seq);
  memcpy(at + 6, &be, 4);
}

static int transient(int err) { return err == ENOBUFS || err == EAGAIN || err == EINTR; }

static void pause_briefly(void) {
  struct timespec ts = {0, 200 * 1000};
  nanosleep(&ts, NULL);
}

/* Paced sending: call pace_start once, then pace_wait after every frame. */
static void pace_start(struct timespec *next) {
  if (clock_gettime(CLOCK_MONOTONIC, next) != 0) die("clock_gettime");
}

static void pace_wait(struct timespec *next, unsigned long rate) {
  uint64_t total = (uint64_t)next->tv_nsec + 1000000000ull / rate;
  next->tv_sec += (time_t)(total / 1000000000ull);
  next->tv_nsec = (long)(total % 1000000000ull);
  int err;
  while ((err = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL)) == EINTR) {
  }
  if (err != 0) {
    errno = err;
    die("clock_nanosleep");
  }
}

#endif
