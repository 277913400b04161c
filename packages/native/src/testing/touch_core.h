/*
 * The page toucher shared by the test addon's touchPages (toucher.cc) and the
 * raw C baseline handler (baseline/c_baseline.c). Both measure with this exact code,
 * so a difference between Faultline and the baseline is the handler's, not the
 * measuring loop's.
 *
 * Written in the common subset of C11 and C++20 (explicit casts from malloc,
 * no designated initialisers), header-only so that neither build target needs
 * another source file.
 *
 * What it does: `threads` POSIX threads touch one 8-byte word at the start of
 * every page of [base, base + length) exactly once, in sequential or seeded
 * random order, timing each touch with CLOCK_MONOTONIC. On registered memory
 * each touch is one page fault (unless a readahead already filled the page,
 * which then shows as a cheap touch). The words read are XOR-folded into a
 * checksum so the reads cannot be optimised away and the content served by a
 * handler can be checked.
 */
#ifndef FAULTLINE_TOUCH_CORE_H
#define FAULTLINE_TOUCH_CORE_H

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOUCH_MAX_THREADS 64

struct touch_options {
  size_t page_size;
  int random_order;        /* 0: sequential, 1: seeded permutation (each page once) */
  int threads;             /* 1..TOUCH_MAX_THREADS faulting threads; pages split between them */
  int write;               /* 1: the touch is a write access (a write fault) */
  uint64_t seed;           /* permutation seed (random order) */
  int record_latencies;    /* 1: keep one latency sample per page for p50/p99 */
};

struct touch_result {
  uint64_t elapsed_ns;     /* first thread released -> last thread done */
  uint64_t pages;
  uint64_t p50_ns;         /* 0 when latencies were not recorded */
  uint64_t p99_ns;
  uint64_t checksum;       /* XOR of the first 8 bytes (native endian) of every page */
};

static inline uint64_t touch_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* splitmix64: a tiny, well-mixed generator; enough for a shuffle. */
static inline uint64_t touch_splitmix64(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Fisher-Yates permutation of 0..n-1. Returns NULL when out of memory. */
static inline uint32_t* touch_permutation(uint64_t n, uint64_t seed) {
  uint32_t* order = (uint32_t*)malloc(n * sizeof(uint32_t));
  if (order == NULL) return NULL;
  for (uint64_t i = 0; i < n; i++) order[i] = (uint32_t)i;
  uint64_t state = seed;
  for (uint64_t i = n - 1; i > 0; i--) {
    uint64_t j = touch_splitmix64(&state) % (i + 1);
    uint32_t t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

/* Start gate: threads wait until every one exists, so all start together and
   a failed pthread_create can still send the started ones home (ABORT). */
enum { TOUCH_GATE_WAIT = 0, TOUCH_GATE_GO = 1, TOUCH_GATE_ABORT = 2 };
struct touch_gate {
  pthread_mutex_t lock;
  pthread_cond_t opened;
  int state;
};

static inline int touch_gate_pass(struct touch_gate* gate) {
  pthread_mutex_lock(&gate->lock);
  while (gate->state == TOUCH_GATE_WAIT) pthread_cond_wait(&gate->opened, &gate->lock);
  int state = gate->state;
  pthread_mutex_unlock(&gate->lock);
  return state;
}

static inline void touch_gate_open(struct touch_gate* gate, int state) {
  pthread_mutex_lock(&gate->lock);
  gate->state = state;
  pthread_cond_broadcast(&gate->opened);
  pthread_mutex_unlock(&gate->lock);
}

struct touch_thread {
  pthread_t thread;
  char* base;
  const struct touch_options* options;
  const uint32_t* order;   /* NULL: sequential */
  uint64_t first, count;   /* this thread's slice of the page sequence */
  uint64_t* latencies;     /* this thread's slice of the sample array, or NULL */
  struct touch_gate* gate;
  uint64_t checksum;
  uint64_t end_ns;
};

/* A zero the compiler cannot see through, so the RMW below is not folded into a load. */
static const volatile uint64_t touch_zero = 0;

static inline void* touch_thread_main(void* arg) {
  struct touch_thread* t = (struct touch_thread*)arg;
  const size_t page = t->options->page_size;
  const int write = t->options->write;
  const uint64_t add = touch_zero;
  uint64_t sum = 0;
  if (touch_gate_pass(t->gate) != TOUCH_GATE_GO) return NULL;
  for (uint64_t k = 0; k < t->count; k++) {
    uint64_t index = t->order != NULL ? t->order[t->first + k] : t->first + k;
    uint64_t* word = (uint64_t*)(t->base + index * page);
    uint64_t t0 = t->latencies != NULL ? touch_now_ns() : 0;
    uint64_t v;
    if (write) {
      /* An atomic add of 0 is a write access from the first instruction (so
         the kernel reports a WRITE fault) yet leaves the content unchanged. */
      v = __atomic_fetch_add(word, add, __ATOMIC_RELAXED);
    } else {
      v = *(volatile uint64_t*)word;
    }
    if (t->latencies != NULL) t->latencies[k] = touch_now_ns() - t0;
    sum ^= v;
  }
  t->checksum = sum;
  t->end_ns = touch_now_ns();
  return NULL;
}

static inline int touch_compare_u64(const void* a, const void* b) {
  uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples. */
static inline uint64_t touch_percentile(const uint64_t* sorted, uint64_t n, unsigned pct) {
  if (n == 0) return 0;
  uint64_t rank = (n * pct + 99) / 100; /* ceil(n * pct / 100) */
  if (rank == 0) rank = 1;
  return sorted[rank - 1];
}

/*
 * Touches every page of [base, base + length) once. Returns 0, or an errno:
 * EINVAL (bad options/length), ENOMEM, or pthread_create's error. The memory
 * must stay mapped until it returns.
 */
static inline int touch_run(void* base, size_t length, const struct touch_options* options,
                            struct touch_result* result) {
  if (options->page_size == 0 || length == 0 || length % options->page_size != 0) return EINVAL;
  if (options->threads < 1 || options->threads > TOUCH_MAX_THREADS) return EINVAL;
  const uint64_t pages = length / options->page_size;
  if (pages > 0xffffffffull) return EINVAL;
  const int nthreads = (uint64_t)options->threads > pages ? (int)pages : options->threads;

  uint32_t* order = NULL;
  uint64_t* latencies = NULL;
  int err = 0;
  if (options->random_order && (order = touch_permutation(pages, options->seed)) == NULL) return ENOMEM;
  if (options->record_latencies && (latencies = (uint64_t*)calloc(pages, sizeof(uint64_t))) == NULL) {
    free(order);
    return ENOMEM;
  }

  struct touch_thread threads[TOUCH_MAX_THREADS];
  struct touch_gate gate;
  pthread_mutex_init(&gate.lock, NULL);
  pthread_cond_init(&gate.opened, NULL);
  gate.state = TOUCH_GATE_WAIT;
  int started = 0;
  for (int i = 0; i < nthreads && err == 0; i++) {
    struct touch_thread* t = &threads[i];
    memset(t, 0, sizeof(*t));
    t->base = (char*)base;
    t->options = options;
    t->order = order;
    t->first = pages * (uint64_t)i / (uint64_t)nthreads;
    t->count = pages * (uint64_t)(i + 1) / (uint64_t)nthreads - t->first;
    t->latencies = latencies != NULL ? latencies + t->first : NULL;
    t->gate = &gate;
    err = pthread_create(&t->thread, NULL, touch_thread_main, t);
    if (err == 0) started++;
  }
  const uint64_t t0 = touch_now_ns();
  touch_gate_open(&gate, err == 0 ? TOUCH_GATE_GO : TOUCH_GATE_ABORT);
  uint64_t end = t0, sum = 0;
  for (int i = 0; i < started; i++) {
    pthread_join(threads[i].thread, NULL);
    if (threads[i].end_ns > end) end = threads[i].end_ns;
    sum ^= threads[i].checksum;
  }
  pthread_cond_destroy(&gate.opened);
  pthread_mutex_destroy(&gate.lock);

  if (err == 0) {
    result->elapsed_ns = end - t0;
    result->pages = pages;
    result->checksum = sum;
    result->p50_ns = result->p99_ns = 0;
    if (latencies != NULL) {
      qsort(latencies, pages, sizeof(uint64_t), touch_compare_u64);
      result->p50_ns = touch_percentile(latencies, pages, 50);
      result->p99_ns = touch_percentile(latencies, pages, 99);
    }
  }
  free(order);
  free(latencies);
  return err;
}

#endif /* FAULTLINE_TOUCH_CORE_H */
