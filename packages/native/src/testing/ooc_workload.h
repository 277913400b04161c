/*
 * The out-of-core workload of the bench's `out-of-core` group, run by both
 * sides of the comparison: the C handler program (baseline/ooc_c.c) calls it
 * from its own workload thread, Faultline's side from a native thread of the
 * test addon (ooc_binding.cc). One code path, so a difference between the
 * two is the handler's.
 *
 * Modelled on LLNL UMap's examples (a STREAM-style pass over a file-backed
 * array, and random read-modify-write updates as in its churn test), on a
 * uint64 array so every value can be checked exactly:
 *   the file:     element i holds i (little-endian uint64);
 *   stream pass:  every element in order, a[i] = 3 * a[i] + 1;
 *   random pass:  `updates` increments a[r % n] += 1, r from splitmix64(seed);
 *   check:        the file (pread, not the mapping) must then hold
 *                 3i + 1 + (times i was drawn) at every i.
 *
 * Written in the common subset of C11 and C++20 (explicit casts from malloc),
 * header-only, like touch_core.h.
 */
#ifndef FAULTLINE_OOC_WORKLOAD_H
#define FAULTLINE_OOC_WORKLOAD_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "touch_core.h"

/* Elements handled per pread/pwrite while writing or checking the file. */
#define OOC_IO_ELEMENTS (1u << 16)

/* Writes the initial file: `elements` uint64s, element i = i. Returns 0 or an errno. */
static inline int ooc_init_file(const char* path, uint64_t elements) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return errno;
  uint64_t* chunk = (uint64_t*)malloc(OOC_IO_ELEMENTS * sizeof(uint64_t));
  int err = chunk == NULL ? ENOMEM : 0;
  for (uint64_t first = 0; err == 0 && first < elements; first += OOC_IO_ELEMENTS) {
    uint64_t n = elements - first < OOC_IO_ELEMENTS ? elements - first : OOC_IO_ELEMENTS;
    for (uint64_t k = 0; k < n; k++) chunk[k] = first + k;
    size_t bytes = (size_t)n * sizeof(uint64_t), done = 0;
    while (err == 0 && done < bytes) {
      ssize_t w = pwrite(fd, (char*)chunk + done, bytes - done, (off_t)(first * sizeof(uint64_t) + done));
      if (w < 0) err = errno;
      else done += (size_t)w;
    }
  }
  free(chunk);
  if (close(fd) != 0 && err == 0) err = errno;
  return err;
}

/* Stream pass over the mapped array; returns its elapsed ns. */
static inline uint64_t ooc_stream(uint64_t* a, uint64_t elements) {
  const uint64_t t0 = touch_now_ns();
  for (uint64_t i = 0; i < elements; i++) a[i] = 3 * a[i] + 1;
  return touch_now_ns() - t0;
}

/* Random-update pass over the mapped array; returns its elapsed ns. */
static inline uint64_t ooc_random(uint64_t* a, uint64_t elements, uint64_t updates, uint64_t seed) {
  uint64_t state = seed;
  const uint64_t t0 = touch_now_ns();
  for (uint64_t k = 0; k < updates; k++) a[touch_splitmix64(&state) % elements] += 1;
  return touch_now_ns() - t0;
}

static inline int ooc_compare_u32(const void* x, const void* y) {
  uint32_t a = *(const uint32_t*)x, b = *(const uint32_t*)y;
  return a < b ? -1 : a > b;
}

/*
 * Checks the file against the values the two passes must have left: the
 * random pass's indexes are drawn again and sorted, the file is read in
 * chunks and every element compared. Returns the number of wrong elements,
 * or -errno when the file cannot be read (or memory is short).
 */
static inline int64_t ooc_check_file(const char* path, uint64_t elements, uint64_t updates, uint64_t seed) {
  if (elements > 0xffffffffull) return -EINVAL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -(int64_t)errno;
  uint32_t* drawn = (uint32_t*)malloc((updates > 0 ? updates : 1) * sizeof(uint32_t));
  uint64_t* chunk = (uint64_t*)malloc(OOC_IO_ELEMENTS * sizeof(uint64_t));
  int64_t result = 0;
  if (drawn == NULL || chunk == NULL) result = -ENOMEM;
  if (result == 0) {
    uint64_t state = seed;
    for (uint64_t k = 0; k < updates; k++) drawn[k] = (uint32_t)(touch_splitmix64(&state) % elements);
    qsort(drawn, (size_t)updates, sizeof(uint32_t), ooc_compare_u32);
  }
  uint64_t next = 0; /* first entry of `drawn` not yet matched */
  for (uint64_t first = 0; result >= 0 && first < elements; first += OOC_IO_ELEMENTS) {
    uint64_t n = elements - first < OOC_IO_ELEMENTS ? elements - first : OOC_IO_ELEMENTS;
    size_t bytes = (size_t)n * sizeof(uint64_t), done = 0;
    while (done < bytes) {
      ssize_t r = pread(fd, (char*)chunk + done, bytes - done, (off_t)(first * sizeof(uint64_t) + done));
      if (r < 0) {
        result = -(int64_t)errno;
        break;
      }
      if (r == 0) break; /* a short file: the missing elements count as wrong */
      done += (size_t)r;
    }
    if (result < 0) break;
    for (uint64_t k = 0; k < n; k++) {
      uint64_t i = first + k, times = 0;
      while (next < updates && drawn[next] == i) {
        times++;
        next++;
      }
      if (k * sizeof(uint64_t) >= done || chunk[k] != 3 * i + 1 + times) result++;
    }
  }
  free(drawn);
  free(chunk);
  close(fd);
  return result;
}

#endif /* FAULTLINE_OOC_WORKLOAD_H */
