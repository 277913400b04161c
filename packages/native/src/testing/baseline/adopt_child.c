/*
 * faultline_adopt_child: a process whose memory is served by ANOTHER process,
 * the way Firecracker hands a restored VM's memory to its page-fault handler.
 *
 * It maps an anonymous private region, creates a uffd as Firecracker does
 * (O_NONBLOCK, UFFDIO_API with UFFD_FEATURE_EVENT_REMOVE only), registers the
 * region MISSING, connects to --socket and sends, in ONE message with the uffd
 * attached (SCM_RIGHTS), a description of the region:
 *   --handshake faultline (default): one JSON line
 *       {"address":A,"size":S,"pageSize":P,"pid":N}
 *   --handshake firecracker: Firecracker's GuestRegionUffdMapping list
 *       [{"base_host_virt_addr":A,"size":S,"offset":0,"page_size":P,"page_size_kib":P}]
 * Then it waits for the line "go" (on the socket, or on stdin with --go stdin:
 * a Firecracker handler never writes on the socket), touches every page with
 * the bench's toucher (../touch_core.h), writes "done" on the socket (so a
 * handler can close its CPU account) and prints one JSON line: elapsedNs,
 * pages, p50Ns, p99Ns, checksum (of what it read: the caller checks the
 * content), cpuNs (this process, over the touch). With --go stdin it then
 * stays until stdin closes.
 *
 * The restore bench's options:
 *   --working-set FILE  touch only the pages FILE lists (uint32 page indexes,
 *                       in touch order; one thread) instead of every page
 *                       (working_set.h); pages counts them;
 *   --check-file FILE   with --working-set: then check every touched page
 *                       against FILE (the memory file), exit 1 on a mismatch;
 *   --hugetlb           the region is 2 MiB hugetlb memory (MAP_HUGETLB;
 *                       huge pages must be reserved), page_size 2097152 in the
 *                       handshake; the touch still reads one word per 4 KiB.
 *
 * Usage: faultline_adopt_child --socket PATH --size BYTES[K|M|G] [--order sequential|random]
 *          [--threads N] [--seed N] [--handshake faultline|firecracker] [--go socket|stdin]
 *          [--working-set FILE [--check-file FILE]] [--hugetlb] [--timeout-s N]
 * Exit 2: bad usage; 1: a system call failed; killed by SIGALRM: no handler
 * served every fault within --timeout-s (default 60).
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
#include "touch_args.h"
#include "uffd_setup.h"
#include "unix_socket.h"
#include "working_set.h"

#define HUGE_2M ((size_t)2 << 20)

struct config {
  const char* socket_path;
  struct touch_args touch;
  uint32_t seed;
  int firecracker;
  int go_on_stdin;
  unsigned timeout_s;
  const char* working_set; /* NULL: touch every page */
  const char* check_file;
  int hugetlb;
};

static void parse_args(int argc, char** argv, struct config* c) {
  memset(c, 0, sizeof(*c));
  touch_args_init(&c->touch);
  c->seed = 1;
  c->timeout_s = 60;
  for (int i = 1; i < argc; i += 2) {
    const char* a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : NULL;
    if (touch_args_option(&c->touch, a, v)) continue;
    if (strcmp(a, "--socket") == 0) {
      c->socket_path = need_value(a, v);
    } else if (strcmp(a, "--seed") == 0) {
      c->seed = parse_seed(need_value(a, v));
    } else if (strcmp(a, "--handshake") == 0) {
      if (strcmp(need_value(a, v), "faultline") == 0) c->firecracker = 0;
      else if (strcmp(v, "firecracker") == 0) c->firecracker = 1;
      else usage_error("--handshake must be faultline or firecracker, got", v);
    } else if (strcmp(a, "--go") == 0) {
      if (strcmp(need_value(a, v), "socket") == 0) c->go_on_stdin = 0;
      else if (strcmp(v, "stdin") == 0) c->go_on_stdin = 1;
      else usage_error("--go must be socket or stdin, got", v);
    } else if (strcmp(a, "--timeout-s") == 0) {
      c->timeout_s = parse_timeout_s(need_value(a, v));
    } else if (strcmp(a, "--working-set") == 0) {
      c->working_set = need_value(a, v);
    } else if (strcmp(a, "--check-file") == 0) {
      c->check_file = need_value(a, v);
    } else if (strcmp(a, "--hugetlb") == 0) {
      c->hugetlb = 1;
      i--; /* a flag without a value */
    } else {
      usage_error("unknown option", a);
    }
  }
  if (c->socket_path == NULL) usage_error("--socket PATH is required (where the handler listens), got", "nothing");
  touch_args_check(&c->touch);
  if (c->check_file != NULL && c->working_set == NULL) usage_error("--check-file goes with --working-set, got", c->check_file);
  if (c->working_set != NULL && c->touch.threads != 1) usage_error("--working-set is touched by one thread; drop --threads, got", "--threads");
  if (c->hugetlb && c->touch.size % HUGE_2M != 0) usage_error("--hugetlb needs a --size that is a multiple of 2 MiB, got", c->touch.size_arg);
}

/* The region's description in the chosen handshake format. */
static int describe_region(char* out, size_t cap, const struct config* c, void* region, long page) {
  if (c->firecracker) {
    return snprintf(out, cap,
                    "[{\"base_host_virt_addr\":%llu,\"size\":%zu,\"offset\":0,\"page_size\":%ld,\"page_size_kib\":%ld}]",
                    (unsigned long long)(uintptr_t)region, c->touch.size, page, page);
  }
  return snprintf(out, cap, "{\"address\":%llu,\"size\":%zu,\"pageSize\":%ld,\"pid\":%d}\n",
                  (unsigned long long)(uintptr_t)region, c->touch.size, page, (int)getpid());
}

int main(int argc, char** argv) {
  args_program = "faultline_adopt_child";
  args_usage =
      "usage: faultline_adopt_child --socket PATH --size BYTES[K|M|G] [--order sequential|random] [--threads N]\n"
      "         [--seed N] [--handshake faultline|firecracker] [--go socket|stdin]\n"
      "         [--working-set FILE [--check-file FILE]] [--hugetlb] [--timeout-s N]\n";
  struct config config;
  parse_args(argc, argv, &config);
  alarm(config.timeout_s); /* a handler that never serves must not leave us parked forever */
  const long touch_page = sysconf(_SC_PAGESIZE);
  /* The region's page size, as the handshake tells the handler. */
  const long page = config.hugetlb ? (long)HUGE_2M : touch_page;

  const size_t size = config.touch.size;
  struct working_set ws = {NULL, 0};
  uint64_t* expected = NULL;
  if (config.working_set != NULL) {
    working_set_load(&ws, config.working_set, size / (size_t)touch_page);
    if (config.check_file != NULL) expected = working_set_expected(&ws, config.check_file, (size_t)touch_page);
  }
  const int huge_flags = config.hugetlb ? MAP_HUGETLB | (21 << MAP_HUGE_SHIFT) : MAP_NORESERVE;
  void* region = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | huge_flags, -1, 0);
  if (region == MAP_FAILED && config.hugetlb) {
    die("mmap of the hugetlb region failed (are enough 2 MiB huge pages reserved? /proc/sys/vm/nr_hugepages): %s", strerror(errno));
  }
  if (region == MAP_FAILED) die("mmap of the region failed: %s", strerror(errno));
  if (!config.hugetlb) madvise(region, size, MADV_NOHUGEPAGE); /* 4 KiB faults, as in the other scenarios */
  const int uffd = uffd_open(O_CLOEXEC | O_NONBLOCK);
  uffd_handshake(uffd, UFFD_FEATURE_EVENT_REMOVE);
  uffd_register_missing(uffd, region, size);

  const int s = unix_connect(config.socket_path, 5000);
  char handshake[512];
  const int len = describe_region(handshake, sizeof(handshake), &config, region, page);
  send_with_fd(s, handshake, (size_t)len, uffd);

  char line[64];
  const int go_fd = config.go_on_stdin ? STDIN_FILENO : s;
  if (read_line(go_fd, line, sizeof(line)) < 0 || strcmp(line, "go") != 0) {
    die("expected the line 'go' from the handler (on %s) before touching; got something else or end of file",
        config.go_on_stdin ? "stdin" : "the socket");
  }

  struct touch_result result;
  uint64_t cpu_ns;
  if (config.working_set != NULL) {
    struct working_set_result w;
    const uint64_t cpu_before = process_cpu_ns();
    working_set_touch(&ws, (const char*)region, (size_t)touch_page, &w);
    cpu_ns = process_cpu_ns() - cpu_before;
    result.elapsed_ns = w.elapsed_ns;
    result.pages = ws.count;
    result.p50_ns = w.p50_ns;
    result.p99_ns = w.p99_ns;
    result.checksum = w.checksum;
  } else {
    const struct touch_options opts = touch_args_options(&config.touch, config.seed, 1);
    cpu_ns = touch_measured(region, size, &opts, &result);
  }
  send_line(s, "done\n");
  /* After "done" (the handler's CPU account is closed) and before the result line. */
  if (expected != NULL) working_set_check(&ws, (const char*)region, (size_t)touch_page, expected);

  printf("{\"child\":\"adopt\",\"handshake\":\"%s\",\"size\":%zu,\"pageSize\":%ld,\"order\":\"%s\",\"threads\":%d,"
         "\"seed\":%u,\"elapsedNs\":%llu,\"pages\":%llu,\"p50Ns\":%llu,\"p99Ns\":%llu,\"checksum\":\"0x%016llx\","
         "\"maxRssKb\":%ld,\"cpuNs\":%llu,\"workingSet\":%s,\"checkedPages\":%llu,\"hugetlb\":%s}\n",
         config.firecracker ? "firecracker" : "faultline", size, page,
         config.touch.random_order ? "random" : "sequential", config.touch.threads, config.seed,
         (unsigned long long)result.elapsed_ns, (unsigned long long)result.pages, (unsigned long long)result.p50_ns,
         (unsigned long long)result.p99_ns, (unsigned long long)result.checksum, process_max_rss_kb(),
         (unsigned long long)cpu_ns, config.working_set != NULL ? "true" : "false",
         (unsigned long long)(expected != NULL ? ws.count : 0), config.hugetlb ? "true" : "false");
  fflush(stdout);
  if (config.go_on_stdin) {
    /* Stay until stdin closes: a Firecracker handler stops serving (and its
       counters go) when this process exits, so the caller reads them first. */
    while (read_line(STDIN_FILENO, line, sizeof(line)) >= 0) {
    }
  }
  close(s);
  close(uffd);
  munmap(region, size);
  free(ws.pages);
  free(expected);
  return 0;
}
