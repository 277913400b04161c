/*
 * faultline_c_baseline: the raw C userfaultfd handlers the bench compares
 * Faultline against, in the same run, with the same toucher (../touch_core.h).
 *
 * ONE handler thread and ONE install ioctl per fault (serve_core.h), waiting
 * for faults one of two ways (--handler):
 *   blocking (default): the plainest honest handler, sleeping in read(2);
 *   busy: "the limit", spinning on non-blocking reads, never sleeping.
 * --readahead N installs N pages per fault (the reference for Faultline's
 * readahead rows). The region is an anonymous private mapping registered
 * MISSING, touched by --threads toucher threads of this process.
 *
 * Usage: faultline_c_baseline --size BYTES[K|M|G] [--order sequential|random]
 *          [--threads N] [--seed N] [--page-content pattern|zero|file]
 *          [--file PATH] [--handler blocking|busy] [--readahead N] [--write]
 *          [--no-latencies]
 * Prints one JSON line on stdout; errors go to stderr (exit 2: bad usage,
 * exit 1: a system call failed). Page contents: serve_core.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "args_core.h"
#include "proc_usage.h"
#include "serve_core.h"
#include "touch_args.h"
#include "uffd_setup.h"

struct config {
  struct touch_args touch;
  int write;
  int latencies;
  struct serve_config serve;
};

static void parse_args(int argc, char** argv, struct config* c) {
  memset(c, 0, sizeof(*c));
  touch_args_init(&c->touch);
  serve_config_init(&c->serve);
  c->latencies = 1;
  for (int i = 1; i < argc; i++) {
    const char* a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--write") == 0) {
      c->write = 1;
    } else if (strcmp(a, "--no-latencies") == 0) {
      c->latencies = 0;
    } else if (touch_args_option(&c->touch, a, v) || serve_config_option(&c->serve, a, v)) {
      i++; /* consumed the value */
    } else {
      usage_error("unknown option", a);
    }
  }
  touch_args_check(&c->touch);
  check_serve_config(&c->serve);
}

int main(int argc, char** argv) {
  args_program = "faultline_c_baseline";
  args_usage =
      "usage: faultline_c_baseline --size BYTES[K|M|G] [--order sequential|random] [--threads N]\n"
      "         [--seed N] [--page-content pattern|zero|file] [--file PATH] [--handler blocking|busy]\n"
      "         [--readahead N] [--write] [--no-latencies]\n";
  struct config config;
  parse_args(argc, argv, &config);
  const size_t size = config.touch.size;

  const long rss_before = process_rss_kb();
  void* region = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (region == MAP_FAILED) die("mmap of the region failed: %s", strerror(errno));
  /* 4 KiB faults only, as Faultline's regions get them. */
  madvise(region, size, MADV_NOHUGEPAGE);

  const int uffd = uffd_open(O_CLOEXEC);
  uffd_handshake(uffd, 0);
  uffd_register_missing(uffd, region, size);

  struct server server;
  server_init(&server, uffd, (uint64_t)(uintptr_t)region, size, &config.serve);
  server_start(&server);

  struct touch_options opts = touch_args_options(&config.touch, config.serve.seed, config.latencies);
  opts.write = config.write;
  struct touch_result result;
  /* CPU of the whole process (toucher and handler threads) over the touch:
   * the bench prints it per page next to Faultline's, since a handler can buy
   * latency with CPU (spinning) and the reader should see the price. */
  const uint64_t cpu_ns = touch_measured(region, size, &opts, &result);

  /* Every page is now present: nothing can be pending for the handler. */
  server_stop(&server);
  const long rss_after = process_rss_kb();

  printf("{\"handler\":\"c-baseline\",\"mode\":\"%s\",\"readahead\":%zu,\"size\":%zu,\"pageSize\":%zu,"
         "\"order\":\"%s\",\"threads\":%d,\"content\":\"%s\",\"seed\":%u,\"write\":%s,\"elapsedNs\":%llu,"
         "\"pages\":%llu,\"faults\":%llu,\"eexist\":%llu,\"p50Ns\":%llu,\"p99Ns\":%llu,"
         "\"checksum\":\"0x%016llx\",\"maxRssKb\":%ld,\"rssDeltaKb\":%ld,\"cpuNs\":%llu}\n",
         mode_name(config.serve.mode), config.serve.readahead, size, opts.page_size,
         config.touch.random_order ? "random" : "sequential", config.touch.threads, content_name(config.serve.content),
         config.serve.seed, config.write ? "true" : "false", (unsigned long long)result.elapsed_ns,
         (unsigned long long)result.pages, (unsigned long long)server.faults, (unsigned long long)server.eexist,
         (unsigned long long)result.p50_ns, (unsigned long long)result.p99_ns, (unsigned long long)result.checksum,
         process_max_rss_kb(), rss_after - rss_before, (unsigned long long)cpu_ns);
  close(uffd);
  munmap(region, size);
  server_release(&server);
  return 0;
}
