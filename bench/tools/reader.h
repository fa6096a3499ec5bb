/*
 * What the benchmark's reference readers (ring-floor.c, ebpf-floor.c) share. Each is one file
 * that scripts/bench compiles on its own, hence static functions in a header.
 */
#ifndef ZBPF_BENCH_READER_H
#define ZBPF_BENCH_READER_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Set by SIGINT or SIGTERM: the reader stops, prints its counts and exits. */
static volatile sig_atomic_t stopping = 0;

static void on_signal(int sig) {
  (void)sig;
  stopping = 1;
}

static void stop_on_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

static unsigned long positive_number(const char *tool, const char *text, const char *what) {
  char *end;
  errno = 0;
  unsigned long value = strtoul(text, &end, 10);
  if (errno != 0 || *end != '\0' || value == 0) {
    fprintf(stderr, "%s: %s must be a positive number, got '%s'\n", tool, what, text);
    exit(2);
  }
  return value;
}

#endif
