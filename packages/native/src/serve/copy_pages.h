// Installing many scattered pages whose bytes lie one after another in one
// buffer: one UFFDIO_COPY per run of consecutive addresses. The prefetch of
// a recorded working set does this (serve/prefetch_plan.h natively, for the
// prefetch thread and demand faults alike, and the JS prefetch thread through
// uffdCopyPages in uffd.cc); one loop serves them all.
#pragma once
#include <errno.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>

#include <cstdint>

namespace faultline::serve {

// Installs `count` pages from `bytes` (page i at bytes + i * ps) at the
// addresses dst[0..count) (0: skip that page). result[i]: 1 installed, 0
// already there (EEXIST: someone else installed it; the rest of its run is
// still installed) or skipped, -errno failed (EAGAIN, the memory map changing
// under an event in flight, is retried a few times first). Returns the pages
// installed. `Address` is whatever the caller holds addresses in (a double
// from a Float64Array, a uint64_t).
template <typename Address>
uint64_t CopyPages(int fd, const Address* dst, uint64_t count, const uint8_t* bytes, uint64_t ps, uint64_t mode, int32_t* result) {
  uint64_t installed = 0;
  for (uint64_t i = 0; i < count;) {
    uint64_t at = static_cast<uint64_t>(dst[i]);
    if (at == 0) {
      result[i++] = 0;
      continue;
    }
    uint64_t run = 1;
    while (i + run < count && static_cast<uint64_t>(dst[i + run]) == at + run * ps) run++;
    uint64_t done = 0;
    int again = 0;
    while (done < run) {
      uffdio_copy copy{at + done * ps, reinterpret_cast<uint64_t>(bytes + (i + done) * ps), (run - done) * ps, mode, 0};
      int rc = ioctl(fd, UFFDIO_COPY, &copy);
      int err = errno;
      if (copy.copy > 0) {
        uint64_t pages = static_cast<uint64_t>(copy.copy) / ps;
        for (uint64_t k = 0; k < pages; k++) result[i + done + k] = 1;
        installed += pages;
        done += pages;
        continue;
      }
      int64_t e = rc == 0 ? 0 : (copy.copy < 0 ? -copy.copy : err);
      if (e == EEXIST) {
        result[i + done++] = 0;
      } else if (e == EAGAIN && again++ < 64) {
        continue;
      } else {
        for (uint64_t k = done; k < run; k++) result[i + k] = static_cast<int32_t>(-e);
        done = run;
      }
    }
    i += run;
  }
  return installed;
}

}  // namespace faultline::serve
