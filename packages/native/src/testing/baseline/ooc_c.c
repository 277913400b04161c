/*
 * faultline_ooc_c: the C reference of the bench's `out-of-core` group. A
 * file-backed uint64 array larger than its memory budget, served by ONE
 * blocking handler thread that also evicts, with the eviction policy of
 * Faultline's map({ maxResident, evictTo, writeback: true }):
 *
 *   serving:  read(2) on a blocking uffd; per fault, pread the page from the
 *             file and install it with one UFFDIO_COPY (one page per fault:
 *             the bench's Faultline side maps with readahead 16, which its
 *             native path applies to faults that continue a scan in order);
 *   budget:   when installing would take the resident count past the budget,
 *             the handler first evicts, synchronously, in the fault path, down
 *             to the low-water mark (default 3/4 of the budget). So the
 *             resident set never passes the budget here (Faultline's evictor
 *             runs beside the faults and lets it pass by up to an eighth);
 *   sweep:    a clock hand goes round the region from where it stopped last,
 *             taking runs of up to 64 contiguous resident pages (the handler
 *             knows what is resident: it installed it; Faultline asks
 *             PAGEMAP_SCAN);
 *   evicting a run: UFFDIO_MOVE of the run into a staging buffer registered
 *             on the same uffd (atomic: no write can be lost between copy and
 *             drop), pread of the run from the file, memcmp page by page,
 *             pwrite of each stretch of pages that differ (compare-with-store
 *             as Faultline does), MADV_DONTNEED of the staging buffer.
 *   flush:    after both passes, every resident page is evicted the same way.
 *
 * The workload (../ooc_workload.h) runs on the main thread of this process,
 * the same code Faultline's side runs in a native thread. CPU is the whole
 * process's (workload and handler), as Faultline's side counts its process.
 *
 * Usage: faultline_ooc_c --file PATH --size BYTES[K|M|G] --budget BYTES[K|M|G]
 *          [--evict-to BYTES[K|M|G]] [--updates N] [--seed N]
 * Writes the initial file (element i = i) before anything is timed, runs the
 * stream pass, the random pass and the flush, checks the file, prints one
 * JSON line (exit 2: bad usage, exit 1: a system call failed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <assert.h> /* static_assert, used by uffd_constants.h */
#include "../../uffd_constants.h" /* UFFDIO_MOVE where the uapi headers are older than the kernel */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../ooc_workload.h"
#include "args_core.h"
#include "proc_usage.h"
#include "uffd_setup.h"

#define RUN_PAGES 64

struct ooc_config {
  const char* file;
  uint64_t size, budget, evict_to, updates, seed;
};

struct ooc_server {
  int uffd, fd;
  char* region;
  char* staging;      /* RUN_PAGES pages, registered: UFFDIO_MOVE's destination */
  unsigned char* store; /* the run as the file has it, to compare */
  size_t ps;
  uint64_t pages, max_pages, target_pages;
  unsigned char* resident_map; /* 1 per page this handler installed and has not evicted */
  uint64_t resident, hand, max_resident;
  _Atomic uint64_t faults;
  uint64_t evicted, written_back, passes, eexist;
};

static void parse_args(int argc, char** argv, struct ooc_config* c) {
  memset(c, 0, sizeof(*c));
  c->updates = 1000000;
  c->seed = 1;
  for (int i = 1; i < argc; i++) {
    const char* a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--file") == 0) c->file = need_value(a, v);
    else if (strcmp(a, "--size") == 0) c->size = parse_u64("invalid --size", need_value(a, v), 1);
    else if (strcmp(a, "--budget") == 0) c->budget = parse_u64("invalid --budget", need_value(a, v), 1);
    else if (strcmp(a, "--evict-to") == 0) c->evict_to = parse_u64("invalid --evict-to", need_value(a, v), 1);
    else if (strcmp(a, "--updates") == 0) c->updates = parse_u64("invalid --updates", need_value(a, v), 0);
    else if (strcmp(a, "--seed") == 0) c->seed = parse_u64("invalid --seed", need_value(a, v), 0);
    else usage_error("unknown option", a);
    i++;
  }
  const uint64_t ps = (uint64_t)sysconf(_SC_PAGESIZE);
  if (c->file == NULL) usage_error("--file is required, got", "nothing");
  if (c->size == 0 || c->size % ps != 0) usage_error("--size must be a non-zero multiple of the page size", "");
  if (c->budget < ps || c->budget % ps != 0 || c->budget >= c->size) {
    usage_error("--budget must be a multiple of the page size, at least one page and below --size", "");
  }
  if (c->evict_to == 0) c->evict_to = c->budget / ps * 3 / 4 * ps;
  if (c->evict_to % ps != 0 || c->evict_to >= c->budget) usage_error("--evict-to must be a multiple of the page size below --budget", "");
}

/* Moves pages [first, first + n) out, writes back the ones that changed, forgets them. */
static void evict_run(struct ooc_server* s, uint64_t first, uint64_t n) {
  const size_t ps = s->ps, bytes = (size_t)n * ps;
  struct uffdio_move m;
  memset(&m, 0, sizeof(m));
  m.dst = (uint64_t)(uintptr_t)s->staging;
  m.src = (uint64_t)(uintptr_t)(s->region + first * ps);
  m.len = bytes;
  m.mode = UFFDIO_MOVE_MODE_DONTWAKE;
  if (ioctl(s->uffd, UFFDIO_MOVE, &m) != 0 || m.move != (int64_t)bytes) die("UFFDIO_MOVE of a resident run failed: %s", strerror(errno));
  size_t done = 0;
  while (done < bytes) {
    ssize_t r = pread(s->fd, s->store + done, bytes - done, (off_t)(first * ps + done));
    if (r < 0) die("pread of the file failed: %s", strerror(errno));
    if (r == 0) break;
    done += (size_t)r;
  }
  memset(s->store + done, 0, bytes - done);
  for (uint64_t k = 0; k < n;) {
    if (memcmp(s->staging + k * ps, s->store + k * ps, ps) == 0) {
      k++;
      continue;
    }
    uint64_t e = k + 1;
    while (e < n && memcmp(s->staging + e * ps, s->store + e * ps, ps) != 0) e++;
    size_t len = (size_t)(e - k) * ps, w = 0;
    while (w < len) {
      ssize_t r = pwrite(s->fd, s->staging + k * ps + w, len - w, (off_t)((first + k) * ps + w));
      if (r < 0) die("pwrite of the file failed: %s", strerror(errno));
      w += (size_t)r;
    }
    s->written_back += e - k;
    k = e;
  }
  madvise(s->staging, bytes, MADV_DONTNEED);
  memset(s->resident_map + first, 0, (size_t)n);
  s->resident -= n;
  s->evicted += n;
}

/* The clock: from the hand on, runs of up to RUN_PAGES contiguous resident pages, until `want` are out. */
static void evict(struct ooc_server* s, uint64_t want) {
  s->passes++;
  for (uint64_t scanned = 0; want > 0 && scanned < s->pages;) {
    if (!s->resident_map[s->hand]) {
      s->hand = (s->hand + 1) % s->pages;
      scanned++;
      continue;
    }
    uint64_t n = 0;
    while (n < RUN_PAGES && n < want && s->hand + n < s->pages && s->resident_map[s->hand + n]) n++;
    evict_run(s, s->hand, n);
    want -= n;
    scanned += n;
    s->hand = (s->hand + n) % s->pages;
  }
}

static void serve_fault(struct ooc_server* s, uint64_t addr) {
  const uint64_t base = (uint64_t)(uintptr_t)s->region;
  if (addr < base || addr >= base + s->pages * s->ps) die("%s", "a fault outside the region");
  const uint64_t page = (addr - base) / s->ps;
  /* Counted before the install wakes the workload, so a pass's count is complete when it ends. */
  atomic_fetch_add_explicit(&s->faults, 1, memory_order_relaxed);
  if (s->resident + 1 > s->max_pages) evict(s, s->resident - s->target_pages);
  ssize_t r = pread(s->fd, s->store, s->ps, (off_t)(page * s->ps));
  if (r < 0) die("pread of the file failed: %s", strerror(errno));
  if ((size_t)r < s->ps) memset(s->store + r, 0, s->ps - (size_t)r);
  struct uffdio_copy c;
  memset(&c, 0, sizeof(c));
  c.dst = base + page * s->ps;
  c.src = (uint64_t)(uintptr_t)s->store;
  c.len = s->ps;
  if (ioctl(s->uffd, UFFDIO_COPY, &c) != 0) {
    /* Only this thread installs, so EEXIST means a duplicate message for a
       page already served: wake the thread, which then finds it present. */
    if (errno != EEXIST && errno != EAGAIN) die("UFFDIO_COPY failed: %s", strerror(errno));
    s->eexist++;
    struct uffdio_range w = {c.dst, s->ps};
    if (ioctl(s->uffd, UFFDIO_WAKE, &w) != 0) die("UFFDIO_WAKE failed: %s", strerror(errno));
    return;
  }
  s->resident_map[page] = 1;
  s->resident++;
  if (s->resident > s->max_resident) s->max_resident = s->resident;
}

static void* handler_main(void* arg) {
  struct ooc_server* s = (struct ooc_server*)arg;
  struct uffd_msg msgs[16];
  for (;;) {
    /* Blocking read, a cancellation point: main cancels us once the workload is done. */
    ssize_t n = read(s->uffd, msgs, sizeof(msgs));
    if (n < 0) {
      if (errno == EINTR) continue;
      die("read(uffd) failed: %s", strerror(errno));
    }
    for (size_t i = 0; i < (size_t)n / sizeof(struct uffd_msg); i++) {
      if (msgs[i].event == UFFD_EVENT_PAGEFAULT) serve_fault(s, msgs[i].arg.pagefault.address);
    }
  }
  return NULL;
}

int main(int argc, char** argv) {
  args_program = "faultline_ooc_c";
  args_usage =
      "usage: faultline_ooc_c --file PATH --size BYTES[K|M|G] --budget BYTES[K|M|G] [--evict-to BYTES[K|M|G]]\n"
      "         [--updates N] [--seed N]\n";
  struct ooc_config cfg;
  parse_args(argc, argv, &cfg);
  struct ooc_server s;
  memset(&s, 0, sizeof(s));
  s.ps = (size_t)sysconf(_SC_PAGESIZE);
  s.pages = cfg.size / s.ps;
  s.max_pages = cfg.budget / s.ps;
  s.target_pages = cfg.evict_to / s.ps;
  const uint64_t elements = cfg.size / sizeof(uint64_t);

  int err = ooc_init_file(cfg.file, elements);
  if (err != 0) die("cannot write --file: %s", strerror(err));
  s.fd = open(cfg.file, O_RDWR | O_CLOEXEC);
  if (s.fd < 0) die("cannot open --file: %s", strerror(errno));

  s.region = (char*)mmap(NULL, cfg.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  s.staging = (char*)mmap(NULL, RUN_PAGES * s.ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (s.region == MAP_FAILED || s.staging == MAP_FAILED) die("mmap failed: %s", strerror(errno));
  /* 4 KiB pages only, as Faultline's regions get them (MOVE splits huge pages anyway). */
  madvise(s.region, cfg.size, MADV_NOHUGEPAGE);
  madvise(s.staging, RUN_PAGES * s.ps, MADV_NOHUGEPAGE);
  s.store = (unsigned char*)aligned_alloc(s.ps, RUN_PAGES * s.ps);
  s.resident_map = (unsigned char*)calloc((size_t)s.pages, 1);
  if (s.store == NULL || s.resident_map == NULL) die("%s", "out of memory");
  memset(s.store, 0, RUN_PAGES * s.ps);

  s.uffd = uffd_open(O_CLOEXEC);
  uffd_handshake(s.uffd, UFFD_FEATURE_MOVE);
  uffd_register_missing(s.uffd, s.region, cfg.size);
  uffd_register_missing(s.uffd, s.staging, RUN_PAGES * s.ps);

  pthread_t handler;
  if ((err = pthread_create(&handler, NULL, handler_main, &s)) != 0) die("cannot start the handler thread: %s", strerror(err));

  uint64_t* a = (uint64_t*)(void*)s.region;
  uint64_t cpu0 = process_cpu_ns();
  const uint64_t stream_ns = ooc_stream(a, elements);
  uint64_t cpu1 = process_cpu_ns();
  const uint64_t stream_faults = atomic_load(&s.faults);
  const uint64_t random_ns = ooc_random(a, elements, cfg.updates, cfg.seed);
  uint64_t cpu2 = process_cpu_ns();
  const uint64_t random_faults = atomic_load(&s.faults) - stream_faults;

  /* The workload is done, so no fault is pending: the handler sits in read(2). */
  pthread_cancel(handler);
  pthread_join(handler, NULL);
  const uint64_t t0 = touch_now_ns();
  if (s.resident > 0) evict(&s, s.resident);
  const uint64_t flush_ns = touch_now_ns() - t0;
  const int64_t wrong = ooc_check_file(cfg.file, elements, cfg.updates, cfg.seed);
  if (wrong < 0) die("cannot check --file: %s", strerror((int)-wrong));

  printf("{\"handler\":\"c-ooc\",\"size\":%llu,\"pageSize\":%zu,\"budgetPages\":%llu,\"targetPages\":%llu,\"elements\":%llu,"
         "\"updates\":%llu,\"seed\":%llu,\"streamNs\":%llu,\"randomNs\":%llu,\"flushNs\":%llu,\"streamFaults\":%llu,"
         "\"randomFaults\":%llu,\"streamCpuNs\":%llu,\"randomCpuNs\":%llu,\"evicted\":%llu,\"writtenBack\":%llu,"
         "\"passes\":%llu,\"maxResident\":%llu,\"eexist\":%llu,\"wrong\":%lld}\n",
         (unsigned long long)cfg.size, s.ps, (unsigned long long)s.max_pages, (unsigned long long)s.target_pages,
         (unsigned long long)elements, (unsigned long long)cfg.updates, (unsigned long long)cfg.seed,
         (unsigned long long)stream_ns, (unsigned long long)random_ns, (unsigned long long)flush_ns,
         (unsigned long long)stream_faults, (unsigned long long)random_faults, (unsigned long long)(cpu1 - cpu0),
         (unsigned long long)(cpu2 - cpu1), (unsigned long long)s.evicted, (unsigned long long)s.written_back,
         (unsigned long long)s.passes, (unsigned long long)s.max_resident, (unsigned long long)s.eexist, (long long)wrong);
  close(s.uffd);
  close(s.fd);
  return 0;
}
