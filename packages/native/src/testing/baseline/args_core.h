/*
 * Command-line helpers shared by the bench's C programs (c_baseline.c,
 * adopt_child.c, adopt_handler.c): every program reports a bad argument the
 * same way (its name, what was wrong, the value, its usage; exit 2) and a
 * failed system call the same way (exit 1), so the bench can tell a usage
 * mistake from a broken machine by the exit code alone.
 *
 * A program sets args_program and args_usage before parsing. The serving
 * core's own options (--page-content, --handler, --readahead) are parsed in
 * serve_core.h, next to what they configure.
 */
#ifndef FAULTLINE_ARGS_CORE_H
#define FAULTLINE_ARGS_CORE_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char* args_program = "faultline";
static const char* args_usage = "";

/* A system call failed: say which and why, exit 1. `fmt` has one %s for `detail`. */
static inline void die(const char* fmt, const char* detail) {
  fprintf(stderr, "%s: ", args_program);
  fprintf(stderr, fmt, detail);
  fputc('\n', stderr);
  exit(1);
}

static inline void usage_error(const char* what, const char* arg) {
  fprintf(stderr, "%s: %s '%s'\n%s", args_program, what, arg, args_usage);
  exit(2);
}

/* A decimal count; with allow_suffix, K/M/G multiply by 2^10/2^20/2^30. */
static inline uint64_t parse_u64(const char* flag, const char* s, int allow_suffix) {
  char* end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || end == s || s[0] == '-') usage_error(flag, s);
  if (allow_suffix && *end != '\0') {
    unsigned shift = *end == 'K' || *end == 'k' ? 10 : *end == 'M' || *end == 'm' ? 20 : *end == 'G' || *end == 'g' ? 30 : 0;
    if (shift == 0 || end[1] != '\0') usage_error(flag, s);
    v <<= shift;
  } else if (*end != '\0') {
    usage_error(flag, s);
  }
  return v;
}

/* The value after a flag that takes one (exit 2 when the command line ends there). */
static inline const char* need_value(const char* flag, const char* v) {
  if (v == NULL) usage_error("missing value after", flag);
  return v;
}

static inline int parse_order(const char* v) {
  if (strcmp(v, "sequential") == 0 || strcmp(v, "seq") == 0) return 0;
  if (strcmp(v, "random") == 0) return 1;
  usage_error("--order must be sequential or random, got", v);
  return 0;
}

/* --seed: the pattern mixes a 32-bit seed, so larger values would silently differ from the resolver's. */
static inline uint32_t parse_seed(const char* v) {
  uint64_t seed = parse_u64("invalid --seed", v, 0);
  if (seed > 0x7fffffffull) usage_error("--seed must be below 2^31 (the pattern takes a 32-bit seed), got", v);
  return (uint32_t)seed;
}

/* --timeout-s: how long a program of the adopt pair may wait for its peer. */
static inline unsigned parse_timeout_s(const char* v) {
  uint64_t t = parse_u64("invalid --timeout-s", v, 0);
  if (t < 1 || t > 3600) usage_error("--timeout-s must be 1..3600, got", v);
  return (unsigned)t;
}

#endif /* FAULTLINE_ARGS_CORE_H */
