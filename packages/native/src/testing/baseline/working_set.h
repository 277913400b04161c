/*
 * The restore bench's touch (faultline_adopt_child --working-set): a
 * restored process touching its working set, i.e. a list of page indexes in
 * the order given (one 8-byte read at the start of each page), timed from the
 * first touch to the last by this process's own clock.
 *
 * With --check-file, every touched page is then checked against the memory
 * file the handler was meant to serve it from (two words per page: the first,
 * and one at a page-dependent offset, so a page copied from the wrong offset or
 * only in part is caught). The expected words are read before the touch and
 * the comparison runs after it, so neither is in the timing. A mismatch ends
 * the program (exit 1) naming the page: a restore that is fast and wrong
 * must not print a number.
 */
#ifndef FAULTLINE_WORKING_SET_H
#define FAULTLINE_WORKING_SET_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../touch_core.h"
#include "args_core.h"

struct working_set {
  uint32_t* pages; /* page indexes (units of the touch page size), in touch order */
  uint64_t count;
};

/* Reads --working-set FILE: little-endian uint32 page indexes, each < page_count. */
static inline void working_set_load(struct working_set* ws, const char* path, uint64_t page_count) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("cannot open --working-set: %s", strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) die("cannot stat --working-set: %s", strerror(errno));
  if (st.st_size == 0 || st.st_size % 4 != 0) die("--working-set %s must hold whole uint32 page indexes (size a non-zero multiple of 4)", path);
  ws->count = (uint64_t)st.st_size / 4;
  ws->pages = (uint32_t*)malloc((size_t)st.st_size);
  if (ws->pages == NULL) die("%s", "out of memory for the working set");
  size_t done = 0;
  while (done < (size_t)st.st_size) {
    ssize_t n = read(fd, (char*)ws->pages + done, (size_t)st.st_size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) die("reading --working-set failed: %s", n < 0 ? strerror(errno) : "short file");
    done += (size_t)n;
  }
  close(fd);
  for (uint64_t i = 0; i < ws->count; i++) {
    if (ws->pages[i] >= page_count) die("--working-set %s names a page past the end of the region", path);
  }
}

/* Where the second checked word of page `index` sits (8-byte aligned, never the first word). */
static inline size_t working_set_probe_offset(uint64_t index, size_t page_size) {
  return 8 + (size_t)((index * 520) % (page_size - 8)) / 8 * 8;
}

/* The two words per page the check compares, read from the memory file before the touch. */
static inline uint64_t* working_set_expected(const struct working_set* ws, const char* path, size_t page_size) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("cannot open --check-file: %s", strerror(errno));
  uint64_t* words = (uint64_t*)malloc(ws->count * 2 * sizeof(uint64_t));
  if (words == NULL) die("%s", "out of memory for the expected words");
  for (uint64_t i = 0; i < ws->count; i++) {
    const off_t base = (off_t)ws->pages[i] * (off_t)page_size;
    const off_t at[2] = {base, base + (off_t)working_set_probe_offset(ws->pages[i], page_size)};
    for (int k = 0; k < 2; k++) {
      uint64_t w = 0;
      ssize_t n = pread(fd, &w, sizeof(w), at[k]);
      if (n < 0) die("reading --check-file failed: %s", strerror(errno));
      if (n != (ssize_t)sizeof(w)) die("--check-file %s is shorter than the region", path);
      words[2 * i + k] = w;
    }
  }
  close(fd);
  return words;
}

struct working_set_result {
  uint64_t elapsed_ns;
  uint64_t p50_ns, p99_ns;
  uint64_t checksum; /* XOR of the first word of every touched page */
};

/* Touches every listed page once, in order, timing each touch. Exits 1 when out of memory. */
static inline void working_set_touch(const struct working_set* ws, const char* base, size_t page_size, struct working_set_result* r) {
  uint64_t* latencies = (uint64_t*)malloc(ws->count * sizeof(uint64_t));
  if (latencies == NULL) die("%s", "out of memory for the latency samples");
  uint64_t sum = 0;
  const uint64_t start = touch_now_ns();
  for (uint64_t i = 0; i < ws->count; i++) {
    const uint64_t t0 = touch_now_ns();
    sum ^= *(const volatile uint64_t*)(base + (uint64_t)ws->pages[i] * page_size);
    latencies[i] = touch_now_ns() - t0;
  }
  r->elapsed_ns = touch_now_ns() - start;
  r->checksum = sum;
  qsort(latencies, ws->count, sizeof(uint64_t), touch_compare_u64);
  r->p50_ns = touch_percentile(latencies, ws->count, 50);
  r->p99_ns = touch_percentile(latencies, ws->count, 99);
  free(latencies);
}

/* After the touch: every touched page against the file's words; exits 1 naming the first wrong page. */
static inline void working_set_check(const struct working_set* ws, const char* base, size_t page_size, const uint64_t* expected) {
  for (uint64_t i = 0; i < ws->count; i++) {
    const char* page = base + (uint64_t)ws->pages[i] * page_size;
    const size_t probe = working_set_probe_offset(ws->pages[i], page_size);
    const uint64_t got[2] = {*(const uint64_t*)page, *(const uint64_t*)(page + probe)};
    for (int k = 0; k < 2; k++) {
      if (got[k] != expected[2 * i + k]) {
        fprintf(stderr,
                "%s: WRONG CONTENT: page %u (touch %llu of %llu), byte offset %zu in the page: read 0x%016llx, "
                "the memory file has 0x%016llx; the handler served the wrong bytes\n",
                args_program, ws->pages[i], (unsigned long long)i + 1, (unsigned long long)ws->count, k == 0 ? (size_t)0 : probe,
                (unsigned long long)got[k], (unsigned long long)expected[2 * i + k]);
        exit(1);
      }
    }
  }
}

#endif /* FAULTLINE_WORKING_SET_H */
