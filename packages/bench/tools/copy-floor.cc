// The kernel's floor for a prefetch of a scattered working set: how long
// UFFDIO_COPY takes to install 13,107 pages (the restore group's 20% of
// 256 MiB) at shuffled addresses, from a page-cache file mapped and populated
// the way the native prefetcher maps a trace's page data. No faults, no
// threads, no handler: just the installs, five times.
//
// Not part of the build or of CI; docs/performance.md "Restore" quotes it.
//   g++ -O2 -o /tmp/copy-floor packages/bench/tools/copy-floor.cc
//   taskset -c 0 /tmp/copy-floor /tmp/copy-floor.bin
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <vector>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

static double NowMs() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void Die(const char* what) {
  perror(what);
  exit(1);
}

int main(int argc, char** argv) {
  const char* path = argc > 1 ? argv[1] : "/tmp/copy-floor.bin";
  const long ps = sysconf(_SC_PAGESIZE), region_pages = 65536, working_set = 13107;
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) Die("open");
  std::vector<char> bytes(working_set * ps, 7);
  if (pwrite(fd, bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) Die("pwrite");
  int uffd = static_cast<int>(syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
  if (uffd < 0) Die("userfaultfd");
  uffdio_api api{};
  api.api = UFFD_API;
  if (ioctl(uffd, UFFDIO_API, &api) != 0) Die("UFFDIO_API");
  for (int rep = 0; rep < 5; rep++) {
    char* region = static_cast<char*>(mmap(nullptr, region_pages * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (region == MAP_FAILED) Die("mmap region");
    uffdio_register reg{};
    reg.range.start = reinterpret_cast<uint64_t>(region);
    reg.range.len = region_pages * ps;
    reg.mode = UFFDIO_REGISTER_MODE_MISSING;
    if (ioctl(uffd, UFFDIO_REGISTER, &reg) != 0) Die("UFFDIO_REGISTER");
    std::vector<uint32_t> pages(region_pages);
    for (long i = 0; i < region_pages; i++) pages[i] = static_cast<uint32_t>(i);
    std::mt19937 rng(rep);
    std::shuffle(pages.begin(), pages.end(), rng);
    pages.resize(working_set);
    char* data = static_cast<char*>(mmap(nullptr, working_set * ps, PROT_READ, MAP_PRIVATE, fd, 0));
    if (data == MAP_FAILED) Die("mmap data");
    madvise(data, working_set * ps, MADV_POPULATE_READ);
    double t0 = NowMs();
    for (long i = 0; i < working_set; i++) {
      uffdio_copy c{};
      c.dst = reinterpret_cast<uint64_t>(region) + pages[i] * ps;
      c.src = reinterpret_cast<uint64_t>(data) + i * ps;
      c.len = ps;
      c.mode = UFFDIO_COPY_MODE_DONTWAKE;
      if (ioctl(uffd, UFFDIO_COPY, &c) != 0) Die("UFFDIO_COPY");
    }
    double ms = NowMs() - t0;
    printf("%ld scattered UFFDIO_COPYs: %.1f ms (%.2f us each)\n", working_set, ms, ms * 1e3 / working_set);
    munmap(data, working_set * ps);
    munmap(region, region_pages * ps);
  }
  unlink(path);
  return 0;
}
