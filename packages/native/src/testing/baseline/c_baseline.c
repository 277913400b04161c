/*
 * faultline_c_baseline: the raw C userfaultfd handler the bench compares
 * Faultline against, in the same run, with the same toucher (../touch_core.h).
 *
 * The plainest honest handler: ONE handler thread doing a blocking read(2) on
 * the uffd and ONE install ioctl per fault (UFFDIO_COPY of a page it filled,
 * or UFFDIO_ZEROPAGE). No batching, no readahead, no spinning. The region is
 * an anonymous private mapping registered MISSING, touched by --threads
 * toucher threads of this process.
 *
 * Usage: faultline_c_baseline --size BYTES[K|M|G] [--order sequential|random]
 *          [--threads N] [--seed N] [--page-content pattern|zero|file]
 *          [--file PATH] [--write] [--no-latencies]
 * Prints one JSON line on stdout; errors go to stderr (exit 2: bad usage,
 * exit 1: a system call failed).
 *
 * Page contents (so a caller can verify what the toucher read):
 *   pattern: the content of @faultline/core's pattern resolver: the 32-bit
 *            little-endian word at region offset 4w is pattern_word(seed, w);
 *   zero:    zeros (UFFDIO_ZEROPAGE);
 *   file:    the bytes of --file at the same offset (pread per fault), zeros
 *            past its end.
 */
#define _GNU_SOURCE
#include "../../pattern_word.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../touch_core.h"

enum content { CONTENT_PATTERN, CONTENT_ZERO, CONTENT_FILE };

struct config {
  size_t size;
  int random_order;
  int threads;
  uint64_t seed;
  enum content content;
  const char* file;
  int write;
  int latencies;
};

struct handler {
  int uffd;
  int file_fd;
  const struct config* config;
  char* region;
  size_t page_size;
  char* scratch;          /* one page, filled per fault then copied in */
  uint64_t faults;        /* page-fault messages served */
  uint64_t eexist;        /* faults already resolved when we got to them */
  int error;              /* errno of a failed ioctl/read: ends the run */
  const char* error_call;
};

static void die(int code, const char* fmt, const char* detail) {
  fprintf(stderr, "faultline_c_baseline: ");
  fprintf(stderr, fmt, detail);
  fputc('\n', stderr);
  exit(code);
}

static void usage_error(const char* what, const char* arg) {
  fprintf(stderr, "faultline_c_baseline: %s '%s'\n", what, arg);
  fprintf(stderr,
          "usage: faultline_c_baseline --size BYTES[K|M|G] [--order sequential|random] [--threads N]\n"
          "         [--seed N] [--page-content pattern|zero|file] [--file PATH] [--write] [--no-latencies]\n");
  exit(2);
}

/* The content of @faultline/core's `pattern` resolver (pattern_word.h), so the
   baseline computes the same content per fault as the resolver it is compared with. */
#define pattern_word faultline_pattern_word

static void fill_pattern(unsigned char* page, size_t page_size, uint32_t seed, uint64_t offset) {
  for (size_t i = 0; i < page_size / 4; i++) {
    uint32_t w = pattern_word(seed, offset / 4 + i);
    /* Stored little-endian whatever the host: the content is defined in bytes. */
    page[4 * i] = (unsigned char)w;
    page[4 * i + 1] = (unsigned char)(w >> 8);
    page[4 * i + 2] = (unsigned char)(w >> 16);
    page[4 * i + 3] = (unsigned char)(w >> 24);
  }
}

static int open_uffd(void) {
  /* Blocking fd on purpose: the handler thread sleeps in read(2). */
  int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
  if (fd >= 0) return fd;
  if (errno != EPERM) die(1, "userfaultfd(2) failed: %s", strerror(errno));
  /* vm.unprivileged_userfaultfd=0: /dev/userfaultfd grants by file mode. */
  int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
  if (dev < 0) {
    die(1, "userfaultfd(2) refused (EPERM) and /dev/userfaultfd not usable (%s): run as root, "
           "grant access to /dev/userfaultfd, or set vm.unprivileged_userfaultfd=1",
        strerror(errno));
  }
  fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC);
  int saved = errno;
  close(dev);
  if (fd < 0) die(1, "ioctl(USERFAULTFD_IOC_NEW) failed: %s", strerror(saved));
  return fd;
}

/* Produces the page at `addr` with one ioctl. Returns 0 or an errno. */
static int serve_fault(struct handler* h, uint64_t addr) {
  const uint64_t offset = addr - (uint64_t)(uintptr_t)h->region;
  int rc;
  int64_t done;
  if (h->config->content == CONTENT_ZERO) {
    struct uffdio_zeropage z;
    memset(&z, 0, sizeof(z));
    z.range.start = addr;
    z.range.len = h->page_size;
    rc = ioctl(h->uffd, UFFDIO_ZEROPAGE, &z);
    done = z.zeropage;
  } else {
    if (h->config->content == CONTENT_PATTERN) {
      fill_pattern((unsigned char*)h->scratch, h->page_size, (uint32_t)h->config->seed, offset);
    } else {
      ssize_t n = pread(h->file_fd, h->scratch, h->page_size, (off_t)offset);
      if (n < 0) return errno;
      memset(h->scratch + n, 0, h->page_size - (size_t)n); /* past EOF: zeros */
    }
    struct uffdio_copy c;
    memset(&c, 0, sizeof(c));
    c.dst = addr;
    c.src = (uint64_t)(uintptr_t)h->scratch;
    c.len = h->page_size;
    rc = ioctl(h->uffd, UFFDIO_COPY, &c);
    done = c.copy;
  }
  if (rc == 0) return 0;
  if (errno == EEXIST || done == -EEXIST) {
    /* Someone installed the page first. EEXIST does not wake the faulting
       thread: wake it ourselves or it stays parked. */
    struct uffdio_range r;
    r.start = addr;
    r.len = h->page_size;
    h->eexist++;
    return ioctl(h->uffd, UFFDIO_WAKE, &r) == 0 ? 0 : errno;
  }
  if (errno == EAGAIN) {
    /* The mm is changing (no events are enabled here, so it should not
       happen); the faulting thread will retry and queue a fresh message. */
    struct uffdio_range r;
    r.start = addr;
    r.len = h->page_size;
    return ioctl(h->uffd, UFFDIO_WAKE, &r) == 0 ? 0 : errno;
  }
  return errno;
}

static void* handler_main(void* arg) {
  struct handler* h = (struct handler*)arg;
  struct uffd_msg msgs[16];
  for (;;) {
    /* Blocking read; a cancellation point, which is how main stops us once
       the toucher is done (we hold no lock or resource across it). */
    ssize_t n = read(h->uffd, msgs, sizeof(msgs));
    if (n < 0) {
      if (errno == EINTR) continue;
      h->error = errno;
      h->error_call = "read(uffd)";
      return NULL;
    }
    for (size_t i = 0; i < (size_t)n / sizeof(struct uffd_msg); i++) {
      if (msgs[i].event != UFFD_EVENT_PAGEFAULT) continue; /* no event features asked for */
      h->faults++;
      int err = serve_fault(h, msgs[i].arg.pagefault.address);
      if (err != 0) {
        /* A parked toucher would hang forever: say why and leave. */
        fprintf(stderr, "faultline_c_baseline: serving a fault at 0x%llx failed: %s\n",
                (unsigned long long)msgs[i].arg.pagefault.address, strerror(err));
        exit(1);
      }
    }
  }
}

/* User + system CPU time of a getrusage(RUSAGE_SELF) sample, in ns. */
static uint64_t cpu_ns(const struct rusage* u) {
  return ((uint64_t)u->ru_utime.tv_sec + (uint64_t)u->ru_stime.tv_sec) * 1000000000ull +
         ((uint64_t)u->ru_utime.tv_usec + (uint64_t)u->ru_stime.tv_usec) * 1000ull;
}

static long rss_kb(void) {
  FILE* f = fopen("/proc/self/statm", "r");
  long size = 0, resident = 0;
  if (f == NULL) return -1;
  if (fscanf(f, "%ld %ld", &size, &resident) != 2) resident = -1;
  fclose(f);
  return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static uint64_t parse_u64(const char* flag, const char* s, int allow_suffix) {
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

static void parse_args(int argc, char** argv, struct config* c) {
  const char* size_arg = "nothing";
  memset(c, 0, sizeof(*c));
  c->threads = 1;
  c->seed = 1;
  c->content = CONTENT_PATTERN;
  c->latencies = 1;
  for (int i = 1; i < argc; i++) {
    const char* a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : NULL;
    int takes_value = strcmp(a, "--size") == 0 || strcmp(a, "--order") == 0 || strcmp(a, "--threads") == 0 ||
                      strcmp(a, "--seed") == 0 || strcmp(a, "--page-content") == 0 || strcmp(a, "--file") == 0;
    if (takes_value && v == NULL) usage_error("missing value after", a);
    if (strcmp(a, "--size") == 0) {
      c->size = (size_t)parse_u64("invalid --size", v, 1);
      size_arg = v;
    } else if (strcmp(a, "--order") == 0) {
      if (strcmp(v, "sequential") == 0 || strcmp(v, "seq") == 0) c->random_order = 0;
      else if (strcmp(v, "random") == 0) c->random_order = 1;
      else usage_error("--order must be sequential or random, got", v);
    } else if (strcmp(a, "--threads") == 0) {
      uint64_t t = parse_u64("invalid --threads", v, 0);
      if (t < 1 || t > TOUCH_MAX_THREADS) usage_error("--threads must be 1..64, got", v);
      c->threads = (int)t;
    } else if (strcmp(a, "--seed") == 0) {
      c->seed = parse_u64("invalid --seed", v, 0);
      if (c->seed > 0x7fffffffull) usage_error("--seed must be below 2^31 (the pattern takes a 32-bit seed), got", v);
    } else if (strcmp(a, "--page-content") == 0) {
      if (strcmp(v, "pattern") == 0) c->content = CONTENT_PATTERN;
      else if (strcmp(v, "zero") == 0) c->content = CONTENT_ZERO;
      else if (strcmp(v, "file") == 0) c->content = CONTENT_FILE;
      else usage_error("--page-content must be pattern, zero or file, got", v);
    } else if (strcmp(a, "--file") == 0) {
      c->file = v;
    } else if (strcmp(a, "--write") == 0) {
      c->write = 1;
      continue;
    } else if (strcmp(a, "--no-latencies") == 0) {
      c->latencies = 0;
      continue;
    } else {
      usage_error("unknown option", a);
    }
    i++; /* consumed the value */
  }
  long page = sysconf(_SC_PAGESIZE);
  if (c->size == 0) usage_error("--size is required (bytes, a multiple of the page size), got", "nothing");
  if (c->size % (size_t)page != 0) usage_error("--size must be a multiple of the page size, got", size_arg);
  if (c->content == CONTENT_FILE && c->file == NULL) usage_error("--page-content file needs --file PATH, got", "nothing");
  if (c->content != CONTENT_FILE && c->file != NULL) usage_error("--file only goes with --page-content file, got", c->file);
}

int main(int argc, char** argv) {
  struct config config;
  parse_args(argc, argv, &config);
  const size_t page_size = (size_t)sysconf(_SC_PAGESIZE);

  struct handler h;
  memset(&h, 0, sizeof(h));
  h.config = &config;
  h.page_size = page_size;
  h.file_fd = -1;
  if (config.content == CONTENT_FILE) {
    h.file_fd = open(config.file, O_RDONLY | O_CLOEXEC);
    if (h.file_fd < 0) die(1, "cannot open --file: %s", strerror(errno));
  }
  h.scratch = (char*)aligned_alloc(page_size, page_size);
  if (h.scratch == NULL) die(1, "%s", "out of memory");
  memset(h.scratch, 0, page_size); /* fault it in now, not on the first fault */

  const long rss_before = rss_kb();
  void* region = mmap(NULL, config.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (region == MAP_FAILED) die(1, "mmap of the region failed: %s", strerror(errno));
  /* 4 KiB faults only, as Faultline's regions get them. */
  madvise(region, config.size, MADV_NOHUGEPAGE);
  h.region = (char*)region;

  h.uffd = open_uffd();
  struct uffdio_api api;
  memset(&api, 0, sizeof(api));
  api.api = UFFD_API;
  if (ioctl(h.uffd, UFFDIO_API, &api) != 0) die(1, "ioctl(UFFDIO_API) failed: %s", strerror(errno));
  struct uffdio_register reg;
  memset(&reg, 0, sizeof(reg));
  reg.range.start = (uint64_t)(uintptr_t)region;
  reg.range.len = config.size;
  reg.mode = UFFDIO_REGISTER_MODE_MISSING;
  if (ioctl(h.uffd, UFFDIO_REGISTER, &reg) != 0) die(1, "ioctl(UFFDIO_REGISTER) failed: %s", strerror(errno));

  pthread_t handler_thread;
  int err = pthread_create(&handler_thread, NULL, handler_main, &h);
  if (err != 0) die(1, "cannot start the handler thread: %s", strerror(err));

  struct touch_options opts;
  memset(&opts, 0, sizeof(opts));
  opts.page_size = page_size;
  opts.random_order = config.random_order;
  opts.threads = config.threads;
  opts.write = config.write;
  opts.seed = config.seed;
  opts.record_latencies = config.latencies;
  struct touch_result result;
  memset(&result, 0, sizeof(result));
  /* CPU of the whole process (toucher and handler threads) over the touch:
   * the bench prints it per page next to Faultline's, since a handler can buy
   * latency with CPU (spinning) and the reader should see the price. */
  struct rusage cpu_before, cpu_after;
  getrusage(RUSAGE_SELF, &cpu_before);
  err = touch_run(region, config.size, &opts, &result);
  if (err != 0) die(1, "the toucher failed: %s", strerror(err));
  getrusage(RUSAGE_SELF, &cpu_after);

  /* Every page is now present, so the handler is idle in read(2): stop it. */
  pthread_cancel(handler_thread);
  pthread_join(handler_thread, NULL);
  if (h.error != 0) {
    fprintf(stderr, "faultline_c_baseline: %s failed: %s\n", h.error_call, strerror(h.error));
    return 1;
  }
  const long rss_after = rss_kb();
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);

  const char* content = config.content == CONTENT_ZERO ? "zero" : config.content == CONTENT_FILE ? "file" : "pattern";
  printf("{\"handler\":\"c-baseline\",\"size\":%zu,\"pageSize\":%zu,\"order\":\"%s\",\"threads\":%d,"
         "\"content\":\"%s\",\"seed\":%llu,\"write\":%s,\"elapsedNs\":%llu,\"pages\":%llu,\"faults\":%llu,"
         "\"eexist\":%llu,\"p50Ns\":%llu,\"p99Ns\":%llu,\"checksum\":\"0x%016llx\",\"maxRssKb\":%ld,"
         "\"rssDeltaKb\":%ld,\"cpuNs\":%llu}\n",
         config.size, page_size, config.random_order ? "random" : "sequential", config.threads, content,
         (unsigned long long)config.seed, config.write ? "true" : "false",
         (unsigned long long)result.elapsed_ns, (unsigned long long)result.pages, (unsigned long long)h.faults,
         (unsigned long long)h.eexist, (unsigned long long)result.p50_ns, (unsigned long long)result.p99_ns,
         (unsigned long long)result.checksum, usage.ru_maxrss, rss_after - rss_before,
         (unsigned long long)(cpu_ns(&cpu_after) - cpu_ns(&cpu_before)));
  close(h.uffd);
  if (h.file_fd >= 0) close(h.file_fd);
  munmap(region, config.size);
  free(h.scratch);
  return 0;
}
