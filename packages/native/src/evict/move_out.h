// Moving one eviction run out of the region into staging slots, and knowing
// which pages really went.
//
// UFFDIO_MOVE's answer cannot be trusted page by page on Linux 6.18: while the
// workload's threads wrote the region, a call sometimes reported EEXIST with
// nothing counted as moved (`move` = -EEXIST), although the page sat in the
// staging slot and its source was empty. Seen with an interposer that read the
// page tables before and after each failed call (docs/memory.md "UFFDIO_MOVE
// can report a move it made as a failure"); which kernel path does it was not
// identified (an internal retry after a batch moved is the likely one). An
// evictor that believed the answer left such a page in staging unwritten and
// dropped it with the buffer: a write lost in one stress round in 10 to 60.
//
// So the answer is used only to go fast: when every call moved what it was
// asked, it is the truth. When any call came back short, the truth is read from
// the slots' page table: the slots are empty before the run (the caller
// guarantees it: a run moves into slots nobody used since the last drop), only
// this run moves into them, so a slot that holds a page holds the page moved
// out of the matching region page.
#pragma once
#include <sys/ioctl.h>

#include <cstdint>
#include <vector>

#include "../uffd_constants.h"
#include "present_scan.h"

namespace faultline::evict {

// One UFFDIO_MOVE of `len` bytes; returns the bytes it says it moved (0 for a
// refusal at the first page; errno is the ioctl's).
inline uint64_t UffdMove(int uffd, uint64_t dst, uint64_t src, uint64_t len, uint64_t mode) {
  uffdio_move m{};
  m.dst = dst;
  m.src = src;
  m.len = len;
  m.mode = mode;
  if (ioctl(uffd, UFFDIO_MOVE, &m) == 0) return len;
  return m.move > 0 ? static_cast<uint64_t>(m.move) : 0;
}

// Moves pages [src, src + n pages) to the empty slots [dst, dst + n pages).
// `move(dst, src, len)` is one UFFDIO_MOVE: it returns the bytes it says it
// moved (0 for a refusal at the first page). Fills `moved` (n entries, 1 for a
// page now in its slot) and returns how many moved; -errno if the page table
// could not be read after a short answer (then `moved` is as the answers say).
template <class MoveFn>
int64_t MoveRunOut(MoveFn&& move, int pagemap_fd, uint64_t dst, uint64_t src, uint64_t n, uint64_t ps, std::vector<uint8_t>* moved,
                   std::vector<PresentRange>* scratch) {
  moved->assign(n, 0);
  uint64_t count = 0;
  bool short_answer = false;
  for (uint64_t k = 0; k < n;) {
    uint64_t done = move(dst + k * ps, src + k * ps, (n - k) * ps) / ps;
    if (done == 0) {
      // A hole, a page that cannot move (the shared zero page), or a page moved but reported refused.
      short_answer = true;
      k++;
      continue;
    }
    for (uint64_t j = k; j < k + done; j++) (*moved)[j] = 1;
    count += done;
    k += done;
    if (k < n) short_answer = true;  // a partial move: the rest is retried, the count may be short too
  }
  if (!short_answer) return static_cast<int64_t>(count);
  int err = ScanPresent(pagemap_fd, dst, ps, 0, n, scratch);
  if (err != 0) return err;
  moved->assign(n, 0);
  count = 0;
  for (const PresentRange& r : *scratch) {
    for (uint64_t j = r.first; j < r.end; j++) (*moved)[j] = 1;
    count += r.end - r.first;
  }
  return static_cast<int64_t>(count);
}

}  // namespace faultline::evict
