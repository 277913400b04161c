/*
 * The toucher's options on the command line (--size, --order, --threads),
 * shared by the programs that own and touch a region (c_baseline.c,
 * adopt_child.c) so both describe and measure the same workload the same way.
 */
#ifndef FAULTLINE_TOUCH_ARGS_H
#define FAULTLINE_TOUCH_ARGS_H

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "../touch_core.h"
#include "args_core.h"
#include "proc_usage.h"

struct touch_args {
  size_t size;
  const char* size_arg; /* as given, for the error message */
  int random_order;
  int threads;
};

static inline void touch_args_init(struct touch_args* t) {
  memset(t, 0, sizeof(*t));
  t->size_arg = "nothing";
  t->threads = 1;
}

/* Takes flag `a` (value `v`, maybe NULL) if it is a toucher option; returns 1 when it was. */
static inline int touch_args_option(struct touch_args* t, const char* a, const char* v) {
  if (strcmp(a, "--size") == 0) {
    t->size = (size_t)parse_u64("invalid --size", need_value(a, v), 1);
    t->size_arg = v;
  } else if (strcmp(a, "--order") == 0) {
    t->random_order = parse_order(need_value(a, v));
  } else if (strcmp(a, "--threads") == 0) {
    uint64_t n = parse_u64("invalid --threads", need_value(a, v), 0);
    if (n < 1 || n > TOUCH_MAX_THREADS) usage_error("--threads must be 1..64, got", v);
    t->threads = (int)n;
  } else {
    return 0;
  }
  return 1;
}

/* Once every option is read: the region size is required and whole pages. */
static inline void touch_args_check(const struct touch_args* t) {
  if (t->size == 0) usage_error("--size is required (bytes, a multiple of the page size), got", "nothing");
  if (t->size % (size_t)sysconf(_SC_PAGESIZE) != 0) usage_error("--size must be a multiple of the page size, got", t->size_arg);
}

/* The toucher's options for this workload; `seed` orders a random touch. */
static inline struct touch_options touch_args_options(const struct touch_args* t, uint64_t seed, int latencies) {
  struct touch_options o;
  memset(&o, 0, sizeof(o));
  o.page_size = (size_t)sysconf(_SC_PAGESIZE);
  o.random_order = t->random_order;
  o.threads = t->threads;
  o.seed = seed;
  o.record_latencies = latencies;
  return o;
}

/* Touches [region, region + size) once per page into *result; returns the
   CPU of this whole process over the touch (every thread: a handler thread
   here is part of the price), ns. Exits 1 when the toucher cannot run. */
static inline uint64_t touch_measured(void* region, size_t size, const struct touch_options* opts, struct touch_result* result) {
  memset(result, 0, sizeof(*result));
  const uint64_t cpu_before = process_cpu_ns();
  int err = touch_run(region, size, opts, result);
  if (err != 0) die("the toucher failed: %s", strerror(err));
  return process_cpu_ns() - cpu_before;
}

#endif /* FAULTLINE_TOUCH_ARGS_H */
