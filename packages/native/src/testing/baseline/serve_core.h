/*
 * The serving side of the bench's C reference handlers: one thread reading a
 * uffd and installing each faulted page with ONE ioctl (UFFDIO_COPY of pages
 * it filled, or UFFDIO_ZEROPAGE). Shared by the in-process reference
 * (c_baseline.c) and the one that serves another process (adopt_handler.c),
 * so both references do exactly the same work per fault.
 *
 * Two ways to wait for faults (--handler), the two ends of the design space
 * Faultline sits between:
 *   blocking: read(2) on a blocking uffd; the thread sleeps between faults, so
 *             every fault pays two wake-ups (kernel -> handler, handler ->
 *             faulting thread). The plainest honest handler.
 *   busy:     read(2) on an O_NONBLOCK uffd in a loop, never sleeping
 *             (sched_yield between empty reads, so it never delays a
 *             thread sharing its CPU); a fault pays only the wake-up of the
 *             faulting thread, at the price of a whole CPU. "The limit":
 *             what a handler can reach per fault without batching, whatever
 *             it spends.
 * --readahead N: each fault installs N pages from the faulting one on (one
 * ioctl, clipped at the end of the served range), like Faultline's readahead.
 *
 * Page contents (what a caller verifies through the toucher's checksum):
 *   pattern: the content of @faultline/core's pattern resolver: the 32-bit
 *            little-endian word at content offset 4w is pattern_word(seed, w);
 *   zero:    zeros (UFFDIO_ZEROPAGE);
 *   file:    the bytes of a file at the content offset (pread), zeros past its end.
 * The content offset of an address is its distance from the start of the
 * served range, plus the range's `offset` (0 unless a handshake gave one).
 */
#ifndef FAULTLINE_SERVE_CORE_H
#define FAULTLINE_SERVE_CORE_H

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../../pattern_word.h"
#include "args_core.h"

enum serve_content { CONTENT_PATTERN, CONTENT_ZERO, CONTENT_FILE };
enum serve_mode { SERVE_BLOCKING, SERVE_BUSY };

struct serve_config {
  enum serve_content content;
  enum serve_mode mode;
  uint32_t seed;       /* CONTENT_PATTERN */
  const char* file;    /* CONTENT_FILE */
  size_t readahead;    /* pages installed per fault, >= 1 */
};

struct server {
  int uffd;
  uint64_t start, end; /* the served range */
  uint64_t offset;     /* content offset of `start` (a Firecracker region's offset in its memory file); 0 by default */
  size_t page_size;
  struct serve_config config;
  int file_fd;
  unsigned char* scratch; /* readahead pages, filled per fault then copied in */
  atomic_int stop;        /* busy mode: set by server_stop */
  pthread_t thread;
  uint64_t faults;        /* page-fault messages served */
  uint64_t eexist;        /* faults already resolved when we got to them */
};

static inline enum serve_content parse_content(const char* v) {
  if (strcmp(v, "pattern") == 0) return CONTENT_PATTERN;
  if (strcmp(v, "zero") == 0) return CONTENT_ZERO;
  if (strcmp(v, "file") == 0) return CONTENT_FILE;
  usage_error("--page-content must be pattern, zero or file, got", v);
  return CONTENT_PATTERN;
}

static inline enum serve_mode parse_mode(const char* v) {
  if (strcmp(v, "blocking") == 0) return SERVE_BLOCKING;
  if (strcmp(v, "busy") == 0) return SERVE_BUSY;
  usage_error("--handler must be blocking or busy, got", v);
  return SERVE_BLOCKING;
}

static inline size_t parse_readahead(const char* v) {
  uint64_t n = parse_u64("invalid --readahead", v, 0);
  if (n < 1 || n > 4096) usage_error("--readahead must be 1..4096 pages, got", v);
  return (size_t)n;
}

static inline void serve_config_init(struct serve_config* c) {
  memset(c, 0, sizeof(*c));
  c->content = CONTENT_PATTERN;
  c->mode = SERVE_BLOCKING;
  c->seed = 1;
  c->readahead = 1;
}

/* Takes flag `a` (value `v`, maybe NULL) if it configures the serving side; returns 1 when it did. */
static inline int serve_config_option(struct serve_config* c, const char* a, const char* v) {
  if (strcmp(a, "--seed") == 0) {
    c->seed = parse_seed(need_value(a, v));
  } else if (strcmp(a, "--page-content") == 0) {
    c->content = parse_content(need_value(a, v));
  } else if (strcmp(a, "--file") == 0) {
    c->file = need_value(a, v);
  } else if (strcmp(a, "--handler") == 0) {
    c->mode = parse_mode(need_value(a, v));
  } else if (strcmp(a, "--readahead") == 0) {
    c->readahead = parse_readahead(need_value(a, v));
  } else {
    return 0;
  }
  return 1;
}

/* The option pairs that must go together, checked once all options are read. */
static inline void check_serve_config(const struct serve_config* c) {
  if (c->content == CONTENT_FILE && c->file == NULL) usage_error("--page-content file needs --file PATH, got", "nothing");
  if (c->content != CONTENT_FILE && c->file != NULL) usage_error("--file only goes with --page-content file, got", c->file);
}

static inline const char* content_name(enum serve_content c) {
  return c == CONTENT_ZERO ? "zero" : c == CONTENT_FILE ? "file" : "pattern";
}

static inline const char* mode_name(enum serve_mode m) { return m == SERVE_BUSY ? "busy" : "blocking"; }

/* Prepares to serve [start, start + length) of `uffd`'s target; opens the file, allocates the scratch pages. */
static inline void server_init(struct server* s, int uffd, uint64_t start, uint64_t length, const struct serve_config* config) {
  memset(s, 0, sizeof(*s));
  s->uffd = uffd;
  s->start = start;
  s->end = start + length;
  s->page_size = (size_t)sysconf(_SC_PAGESIZE);
  s->config = *config;
  s->file_fd = -1;
  if (config->content == CONTENT_FILE) {
    s->file_fd = open(config->file, O_RDONLY | O_CLOEXEC);
    if (s->file_fd < 0) die("cannot open --file: %s", strerror(errno));
  }
  const size_t bytes = s->page_size * config->readahead;
  s->scratch = (unsigned char*)aligned_alloc(s->page_size, bytes);
  if (s->scratch == NULL) die("%s", "out of memory for the scratch pages");
  memset(s->scratch, 0, bytes); /* fault them in now, not on the first fault */
}

static inline void fill_pattern(unsigned char* out, size_t bytes, uint32_t seed, uint64_t offset) {
  for (size_t i = 0; i < bytes / 4; i++) {
    uint32_t w = faultline_pattern_word(seed, offset / 4 + i);
    /* Stored little-endian whatever the host: the content is defined in bytes. */
    out[4 * i] = (unsigned char)w;
    out[4 * i + 1] = (unsigned char)(w >> 8);
    out[4 * i + 2] = (unsigned char)(w >> 16);
    out[4 * i + 3] = (unsigned char)(w >> 24);
  }
}

/* Fills `bytes` of scratch with the content at content offset `offset`. Returns 0 or an errno. */
static inline int server_fill(struct server* s, uint64_t offset, size_t bytes) {
  if (s->config.content == CONTENT_PATTERN) {
    fill_pattern(s->scratch, bytes, s->config.seed, offset);
    return 0;
  }
  size_t done = 0;
  while (done < bytes) {
    ssize_t n = pread(s->file_fd, s->scratch + done, bytes - done, (off_t)(offset + done));
    if (n < 0) return errno;
    if (n == 0) break; /* end of file */
    done += (size_t)n;
  }
  memset(s->scratch + done, 0, bytes - done); /* past EOF: zeros */
  return 0;
}

static inline int server_wake(struct server* s, uint64_t addr) {
  struct uffdio_range r;
  r.start = addr;
  r.len = s->page_size;
  return ioctl(s->uffd, UFFDIO_WAKE, &r) == 0 ? 0 : errno;
}

/* Produces the page at `addr` (and its readahead) with one ioctl. Returns 0 or an errno. */
static inline int server_serve_fault(struct server* s, uint64_t addr) {
  if (addr < s->start || addr >= s->end) return EFAULT; /* not ours: nothing else is registered */
  const uint64_t left = (s->end - addr) / s->page_size;
  const size_t bytes = s->page_size * (left < s->config.readahead ? (size_t)left : s->config.readahead);
  int rc;
  int64_t done;
  if (s->config.content == CONTENT_ZERO) {
    struct uffdio_zeropage z;
    memset(&z, 0, sizeof(z));
    z.range.start = addr;
    z.range.len = bytes;
    rc = ioctl(s->uffd, UFFDIO_ZEROPAGE, &z);
    done = z.zeropage;
  } else {
    int err = server_fill(s, s->offset + (addr - s->start), bytes);
    if (err != 0) return err;
    struct uffdio_copy c;
    memset(&c, 0, sizeof(c));
    c.dst = addr;
    c.src = (uint64_t)(uintptr_t)s->scratch;
    c.len = bytes;
    rc = ioctl(s->uffd, UFFDIO_COPY, &c);
    done = c.copy;
  }
  if (rc == 0) return 0;
  /* A readahead run that met a present page stops there (EAGAIN, `done`
     bytes in); the kernel woke what it installed, the faulting page first. */
  if (done >= (int64_t)s->page_size) return 0;
  if (errno == EEXIST) {
    /* Someone installed the page first. EEXIST does not wake the faulting
       thread: wake it ourselves or it stays parked. */
    s->eexist++;
    return server_wake(s, addr);
  }
  if (errno == EAGAIN) {
    /* The target's mm is changing (an event is being delivered): the faulting
       thread retries once woken and queues a fresh message. */
    return server_wake(s, addr);
  }
  return errno;
}

static inline void server_handle(struct server* s, const struct uffd_msg* msgs, size_t count) {
  for (size_t i = 0; i < count; i++) {
    /* Only page faults are served; an event (the adopt child's uffd offers
       REMOVE, never triggered in the bench) is consumed by the read itself. */
    if (msgs[i].event != UFFD_EVENT_PAGEFAULT) continue;
    s->faults++;
    int err = server_serve_fault(s, msgs[i].arg.pagefault.address);
    if (err != 0) {
      /* A parked toucher would hang forever: say why and leave. */
      fprintf(stderr, "%s: serving a fault at 0x%llx failed: %s\n", args_program,
              (unsigned long long)msgs[i].arg.pagefault.address, strerror(err));
      exit(1);
    }
  }
}

static inline void* server_blocking_main(void* arg) {
  struct server* s = (struct server*)arg;
  struct uffd_msg msgs[16];
  for (;;) {
    /* Blocking read; a cancellation point, which is how server_stop ends us
       once every page is present (we hold no lock or resource across it). */
    ssize_t n = read(s->uffd, msgs, sizeof(msgs));
    if (n < 0) {
      if (errno == EINTR) continue;
      die("read(uffd) failed: %s", strerror(errno));
    }
    server_handle(s, msgs, (size_t)n / sizeof(struct uffd_msg));
  }
  return NULL;
}

static inline void* server_busy_main(void* arg) {
  struct server* s = (struct server*)arg;
  struct uffd_msg msgs[16];
  while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
    /* Non-blocking read in a loop, never sleeping. */
    ssize_t n = read(s->uffd, msgs, sizeof(msgs));
    if (n < 0) {
      if (errno == EAGAIN) {
        /* Nothing yet. Yield, which keeps us runnable (no sleep, no wake-up
           to pay) but lets a faulting thread woken onto this CPU run at once
           instead of waiting out our time slice: without it this "limit" ran
           at 26k pages/s where the blocking handler ran 44k (1 toucher, 2
           vCPUs), with it 45k. */
        sched_yield();
        continue;
      }
      if (errno == EINTR) continue;
      die("read(uffd) failed: %s", strerror(errno));
    }
    server_handle(s, msgs, (size_t)n / sizeof(struct uffd_msg));
  }
  return NULL;
}

/* Starts the serving thread. The uffd's O_NONBLOCK is set to what the mode
   reads with: a uffd received from another process comes with its creator's
   flags (Firecracker's are non-blocking). */
static inline void server_start(struct server* s) {
  int flags = fcntl(s->uffd, F_GETFL);
  if (flags < 0) die("fcntl(uffd, F_GETFL) failed: %s", strerror(errno));
  flags = s->config.mode == SERVE_BUSY ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
  if (fcntl(s->uffd, F_SETFL, flags) != 0) die("fcntl(uffd, F_SETFL) failed: %s", strerror(errno));
  int err = pthread_create(&s->thread, NULL, s->config.mode == SERVE_BUSY ? server_busy_main : server_blocking_main, s);
  if (err != 0) die("cannot start the handler thread: %s", strerror(err));
}

/* Ends the serving thread; call once no fault can be pending (every page touched). */
static inline void server_stop(struct server* s) {
  if (s->config.mode == SERVE_BUSY) {
    atomic_store(&s->stop, 1);
  } else {
    pthread_cancel(s->thread);
  }
  pthread_join(s->thread, NULL);
}

static inline void server_release(struct server* s) {
  if (s->file_fd >= 0) close(s->file_fd);
  free(s->scratch);
}

#endif /* FAULTLINE_SERVE_CORE_H */
