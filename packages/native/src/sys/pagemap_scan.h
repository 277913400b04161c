// The PAGEMAP_SCAN ioctl's ABI (Linux 6.7+, on /proc/self/pagemap), spelled
// out because the uapi headers on the build machines predate it
// (include/uapi/linux/fs.h). Used by write tracking (pagemap.cc: pages
// written since they were protected) and the native evictor
// (evict/present_scan.h: pages present).
#pragma once
#include <sys/ioctl.h>

#include <cstdint>

namespace faultline::sys {

struct PageRegion {
  uint64_t start;
  uint64_t end;
  uint64_t categories;
};

struct PmScanArg {
  uint64_t size;
  uint64_t flags;
  uint64_t start;
  uint64_t end;
  uint64_t walk_end;
  uint64_t vec;
  uint64_t vec_len;
  uint64_t max_pages;
  uint64_t category_inverted;
  uint64_t category_mask;
  uint64_t category_anyof_mask;
  uint64_t return_mask;
};

constexpr unsigned long kPagemapScan = _IOWR('f', 16, PmScanArg);  // 0xc0606610
// flags
constexpr uint64_t kWpMatching = 1 << 0;    // PM_SCAN_WP_MATCHING: protect what matches, in the same walk
constexpr uint64_t kCheckWpAsync = 1 << 1;  // PM_SCAN_CHECK_WPASYNC
// categories
constexpr uint64_t kPageIsWritten = 1 << 1;
constexpr uint64_t kPageIsPresent = 1 << 3;

}  // namespace faultline::sys
