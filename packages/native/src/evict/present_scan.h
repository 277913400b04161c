// Which pages of a range have a page mapped (PAGEMAP_SCAN, Linux 6.7+, on
// /proc/self/pagemap): the native evictor's clock hand sweeps these. The
// ioctl's ABI: sys/pagemap_scan.h.
#pragma once
#include <errno.h>
#include <sys/ioctl.h>

#include <cstdint>
#include <vector>

#include "../sys/pagemap_scan.h"

namespace faultline::evict {

struct PresentRange {
  uint64_t first;  // page index in the region
  uint64_t end;    // one past the last
};

// The present pages of [first, end) of the region at `base` (pages of `ps`
// bytes), as ranges in address order (adjacent ones merged). Returns 0 or
// -errno (the ranges found so far are kept).
inline int ScanPresent(int pagemap_fd, uint64_t base, uint64_t ps, uint64_t first, uint64_t end, std::vector<PresentRange>* out) {
  out->clear();
  sys::PageRegion vec[256];
  uint64_t at = base + first * ps;
  const uint64_t stop = base + end * ps;
  while (at < stop) {
    sys::PmScanArg arg{};
    arg.size = sizeof(arg);
    arg.start = at;
    arg.end = stop;
    arg.vec = reinterpret_cast<uint64_t>(vec);
    arg.vec_len = sizeof(vec) / sizeof(vec[0]);
    arg.category_mask = sys::kPageIsPresent;
    arg.return_mask = sys::kPageIsPresent;
    long n = ioctl(pagemap_fd, sys::kPagemapScan, &arg);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    for (long i = 0; i < n; i++) {
      uint64_t f = (vec[i].start - base) / ps, e = (vec[i].end - base) / ps;
      if (!out->empty() && out->back().end == f) out->back().end = e;
      else out->push_back({f, e});
    }
    if (arg.walk_end <= at) break;  // no progress: nothing more to walk
    at = arg.walk_end;
  }
  return 0;
}

}  // namespace faultline::evict
