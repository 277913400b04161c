// The native fast path: faults of regions whose resolver is a built-in the
// waiter knows (zero, pattern, file, snapshot) are served right where they
// were read, with no trip through JS: look the page up in the region table,
// produce the bytes, one install ioctl, count. That makes Faultline's
// built-in resolvers cost what a plain C handler costs per fault.
//
// It also serves the write-protect faults of trackWrites: 'sync' regions
// (note the page in the region's dirty bitmap, lift the protection).
//
// It is an accelerator, never the only way: anything it cannot do (another
// write-protect fault, a minor fault of a resolver other than pageCache, a read error, a page past the end of a snapshot,
// an install error other than the kernel's usual answers) goes to JS, where
// the same resolver is loaded and fault.ts / failure.ts apply the rules and
// the failure policy. What it does do follows core/src/worker/installer.ts
// exactly (EEXIST: wake; EAGAIN: retry, then wake; ENOENT/ESRCH: drop), and
// counts the same region counters.
#pragma once
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "../pattern_fill.h"
#include "../uffd_constants.h"
#include "dirty_bitmap.h"
#include "eviction_window.h"
#include "fault_trace.h"
#include "prefetch_plan.h"
#include "region_table.h"

namespace faultline::serve {

class NativePath {
 public:
  NativePath() = default;
  NativePath(RegionTableView table, RegionStatsView stats, FaultTraceView trace, uint64_t page_size)
      : table_(table), stats_(stats), trace_(trace), page_size_(page_size) {}
  NativePath(const NativePath&) = delete;
  NativePath& operator=(const NativePath&) = delete;
  NativePath(NativePath&& other) noexcept { *this = static_cast<NativePath&&>(other); }
  NativePath& operator=(NativePath&& other) noexcept {
    table_ = other.table_;
    stats_ = other.stats_;
    trace_ = other.trace_;
    page_size_ = other.page_size_;
    scratch_ = other.scratch_;
    scratch_bytes_ = other.scratch_bytes_;
    zeros_ = other.zeros_;
    zeros_bytes_ = other.zeros_bytes_;
    other.scratch_ = other.zeros_ = nullptr;
    other.scratch_bytes_ = other.zeros_bytes_ = 0;
    return *this;
  }
  ~NativePath() {
    if (scratch_ != nullptr) munmap(scratch_, scratch_bytes_);
    if (zeros_ != nullptr) munmap(zeros_, zeros_bytes_);
  }

  // Serves the page fault `msg` of uffd `uffd_id` (fd `fd`) if it can; true
  // when the faulting thread has been answered, false to leave it to JS.
  bool Serve(uint32_t uffd_id, int fd, const uffd_msg& msg) {
    if ((msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) != 0) return ServeWriteProtect(uffd_id, fd, msg);
    bool minor = (msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_MINOR) != 0;
    RegionEntry e;
    if (!table_.Lookup(uffd_id, msg.arg.pagefault.address & ~(page_size_ - 1), &e)) return false;  // unknown address: JS fails it loudly
    // The range's own page size (hugetlbfs: 2 MiB; the kernel reports its faults huge-page aligned).
    uint64_t ps = e.page_size != 0 ? e.page_size : page_size_;
    uint64_t page = msg.arg.pagefault.address & ~(ps - 1);
    // A running prefetch of this region (whatever its resolver): the page and a window of the
    // plan ahead of it come from the plan's page data.
    if (e.state == kEntryRegion && !minor && plans::AnyRunning()) {
      plans::Use use(uffd_id, e.region_id);
      if (use.get() != nullptr && use.get()->page_size() == ps) {
        int served = ServeFromPlan(*use.get(), fd, e, page);
        if (served >= 0) return served == 1;
      }
    }
    int kind = e.state == kEntryZero ? kNativeZero : e.native_kind;
    if (kind == kNativeNone) return false;
    // pageCache: a minor fault maps the page cache's page (one page, as JS does); a missing
    // fault is a zero page, unless the region poisons those (JS does, with its report).
    if (kind == kNativePageCache) {
      if (minor) return ServeContinue(fd, e, page, ps);
      if (e.native_arg != 0) return false;
      kind = kNativeZero;
    } else if (minor) {
      return false;  // the region's resolver decides what a minor fault means: JS
    }
    uint64_t end = e.start + e.length;
    uint64_t pages = e.state == kEntryZero ? 1 : std::max<uint64_t>(1, std::min<uint64_t>(e.readahead, (end - page) / ps));
    // An evicting region: a page of the run being moved out waits for its writeback, and a
    // region over its hard cap waits for room; both waits are JS's (fault.ts), so leave them to
    // it. Otherwise the window may be cut, and is installed with the marker's gate held.
    EvictionWindow evicting;
    if (e.state == kEntryRegion && e.eviction != 0) {
      auto* marker = reinterpret_cast<int32_t*>(static_cast<uintptr_t>(e.eviction));
      uint32_t installed = static_cast<uint32_t>(stats_.Get(e.region_id, kStatPagesInstalled));
      int64_t index = static_cast<int64_t>((page - e.start + e.offset) / ps);
      if (!evicting.Open(marker, index, msg.arg.pagefault.feat.ptid, installed, &pages)) return false;
    }
    uint64_t length = pages * ps;
    uint64_t offset = e.offset + (page - e.start);
    // A recording region: the touch goes in the trace before the install wakes the thread, so
    // whoever the thread tells next already finds it there. A page faulted by two threads at
    // once is listed twice (the trace's reader keeps the first).
    if (e.state == kEntryRegion && (e.flags & kFlagRecord) != 0) trace_.Append(e.region_id, offset / ps);
    // A write-tracked region's pages go in write-protected, so the first write to each is seen (WP_ASYNC).
    uint64_t mode = (e.flags & kFlagTrackWrites) != 0 ? UFFDIO_COPY_MODE_WP : 0;
    bool move = (e.flags & kFlagInstallMove) != 0;
    int64_t done = 0;
    switch (kind) {
      case kNativeZero:
        if (ps == page_size_ && mode == 0) {
          done = Zero(fd, page, length);
        } else {
          // hugetlbfs has no UFFDIO_ZEROPAGE, and ZEROPAGE has no write-protect mode: copy zeros.
          const uint8_t* zeros = Zeros(length);
          if (zeros == nullptr) return false;
          done = Copy(fd, page, zeros, length, mode);
        }
        break;
      case kNativePattern: {
        uint8_t* scratch = Scratch(length);
        if (scratch == nullptr || offset % 4 != 0) return false;
        FillPatternWords(reinterpret_cast<uint32_t*>(scratch), length / 4, static_cast<uint32_t>(e.native_arg), offset / 4);
        done = move ? MoveOrCopy(fd, page, scratch, length, e.region_id) : Copy(fd, page, scratch, length, mode);
        break;
      }
      case kNativeFile: {
        uint8_t* scratch = Scratch(length);
        if (scratch == nullptr || !ReadFile(static_cast<int>(e.native_arg), e.native_base + offset, scratch, length)) return false;
        done = move ? MoveOrCopy(fd, page, scratch, length, e.region_id) : Copy(fd, page, scratch, length, mode);
        break;
      }
      case kNativeSnapshot: {
        uint64_t at = e.native_base + offset;
        if (at + length > e.native_size) return false;  // straddles the end of the file: JS zero-fills the tail
        done = Copy(fd, page, reinterpret_cast<uint8_t*>(static_cast<uintptr_t>(e.native_arg)) + at, length, mode);
        break;
      }
      default:
        return false;
    }
    if (!Settle(fd, e.region_id, kind, page, ps, done)) return false;
    stats_.Add(e.region_id, kStatFaults);
    if (e.state != kEntryZero) stats_.Add(e.region_id, kStatResolverCalls);
    return true;
  }

 private:
  // A demand fault on a page of a running prefetch's plan (prefetch_plan.h):
  // the page from the plan's bytes (whoever claimed it: if its claimant is
  // installing it right now, this copy is EEXIST and wakes the thread), then
  // the next FaultWindow() plan positions nobody claimed, so the thread finds
  // them in place when it gets there. The window's pages count as the
  // prefetch's installs (installedOnFaults), the faulting page as a demand
  // install, as without a plan. 1: served; 0: an install error for JS;
  // -1: not a plan page (or the plan was cancelled): serve it as usual.
  int ServeFromPlan(PrefetchPlan& plan, int fd, const RegionEntry& e, uint64_t page) {
    int64_t i = plan.PositionOf(page);
    if (i < 0 || plan.Cancelled() || !plan.Serves(e, static_cast<uint64_t>(i))) return -1;
    const uint64_t ps = plan.page_size();
    PrefetchPlan::FaultCounts& counts = plan.fault_counts();
    bool mine = plan.Claim(static_cast<uint64_t>(i));
    if ((e.flags & kFlagRecord) != 0) trace_.Append(e.region_id, (e.offset + (page - e.start)) / ps);
    int64_t done = Copy(fd, page, plan.BytesOf(static_cast<uint64_t>(i)), ps, plan.mode());
    if (!Settle(fd, e.region_id, kNativeFile, page, ps, done)) {
      if (mine) counts.failed.fetch_add(1, std::memory_order_relaxed);
      return 0;
    }
    stats_.Add(e.region_id, kStatFaults);
    // The faulting page is a demand install (the region's counters have it); to the plan, one a fault installed first.
    if (mine) counts.already.fetch_add(1, std::memory_order_relaxed);
    // The window: the plan's next positions nobody has claimed yet.
    uint64_t from = static_cast<uint64_t>(i) + 1;
    uint64_t count = std::min<uint64_t>(plan.FaultWindow(), plan.size() - std::min<uint64_t>(from, plan.size()));
    PrefetchPlan::Tally t = plan.InstallPositions(fd, table_, from, count);
    counts.installed.fetch_add(t.installed, std::memory_order_relaxed);
    counts.already.fetch_add(t.already, std::memory_order_relaxed);
    counts.cancelled.fetch_add(t.cancelled, std::memory_order_relaxed);
    counts.failed.fetch_add(t.failed, std::memory_order_relaxed);
    return 1;
  }

  // A write-protect fault of a trackWrites: 'sync' region: its bit in the dirty bitmap, then
  // UFFDIO_WRITEPROTECT mode 0 (lifts the protection and wakes the writer), as fault.ts does.
  // Other WP faults (an adopted peer's ranges) go to JS.
  bool ServeWriteProtect(uint32_t uffd_id, int fd, const uffd_msg& msg) {
    RegionEntry e;
    if (!table_.Lookup(uffd_id, msg.arg.pagefault.address & ~(page_size_ - 1), &e) || e.dirty_bitmap == 0) return false;
    uint64_t ps = e.page_size != 0 ? e.page_size : page_size_;
    uint64_t page = msg.arg.pagefault.address & ~(ps - 1);
    DirtyBitmapView(e.dirty_bitmap).ServeWriteFault((e.offset + (page - e.start)) / ps, [&] {
      uffdio_writeprotect wp{};
      wp.range.start = page;
      wp.range.len = ps;
      wp.mode = 0;
      // ENOENT/ESRCH: the range or process is gone. Anything else (EAGAIN: the map is changing):
      // wake the writer, whose retry faults again.
      if (ioctl(fd, UFFDIO_WRITEPROTECT, &wp) != 0 && errno != ENOENT && errno != ESRCH) Wake(fd, page, ps);
    });
    stats_.Add(e.region_id, kStatFaults);
    return true;
  }

  // A minor fault of a pageCache region: UFFDIO_CONTINUE maps the page already in the page cache.
  bool ServeContinue(int fd, const RegionEntry& e, uint64_t page, uint64_t ps) {
    uffdio_continue c{};
    c.range.start = page;
    c.range.len = ps;
    int64_t done = Install(fd, UFFDIO_CONTINUE, &c, &c.mapped);
    if (!Settle(fd, e.region_id, kNativePageCache, page, ps, done)) return false;
    if (done > 0) stats_.Add(e.region_id, kStatContinued, static_cast<int32_t>(static_cast<uint64_t>(done) / ps));
    stats_.Add(e.region_id, kStatFaults);
    stats_.Add(e.region_id, kStatResolverCalls);
    return true;
  }

  // install: 'move': the scratch's pages themselves go into the region (no copy; the scratch
  // faults fresh pages in when it is next filled). Refused (a shared or pinned page, a hole):
  // nothing moved, so COPY from the intact scratch (installer.ts does the same).
  int64_t MoveOrCopy(int fd, uint64_t page, uint8_t* scratch, uint64_t length, int region) {
    uffdio_move m{};
    m.dst = page;
    m.src = reinterpret_cast<uint64_t>(scratch);
    m.len = length;
    int64_t done = Install(fd, UFFDIO_MOVE, &m, &m.move);
    if (done > 0) {
      stats_.Add(region, kStatMoved, static_cast<int32_t>(static_cast<uint64_t>(done) / page_size_));
      return done;
    }
    if (done == -EEXIST || done == -EAGAIN) return done;
    return Copy(fd, page, scratch, length, 0);
  }

  // What an install's answer means (installer.ts): true when the faulting
  // page is resolved, false for an error JS must handle.
  bool Settle(int fd, int region, int kind, uint64_t page, uint64_t ps, int64_t done) {
    if (done > 0) {
      int32_t pages = static_cast<int32_t>(static_cast<uint64_t>(done) / ps);
      stats_.Add(region, kStatPagesInstalled, pages);
      if (kind == kNativeZero) stats_.Add(region, kStatZeroFills, pages);
      return true;
    }
    if (done == -EEXIST) {
      // Someone installed it first: EEXIST does not wake the waiter.
      stats_.Add(region, kStatEexist);
      Wake(fd, page, ps);
      return true;
    }
    if (done == -EAGAIN) {
      // Retried out already (see Install): re-deliver, the thread faults again.
      stats_.Add(region, kStatRetries);
      Wake(fd, page, ps);
      return true;
    }
    if (done == -ENOENT || done == -ESRCH) {
      stats_.Add(region, kStatDropped);  // the range or the process is gone
      return true;
    }
    return false;
  }

  // The install ioctls: bytes done, or -errno. EAGAIN (the memory map is
  // changing) is retried a bounded number of times, as installer.ts does.
  template <typename Request>
  static int64_t Install(int fd, unsigned long op, Request* req, __s64* out) {
    for (int attempt = 0;; attempt++) {
      *out = 0;
      int rc = ioctl(fd, op, req);
      int64_t done = rc == 0 || *out > 0 ? *out : -errno;
      if (done != -EAGAIN || attempt >= kEagainRetries) return done;
    }
  }

  static int64_t Zero(int fd, uint64_t page, uint64_t length) {
    uffdio_zeropage z{};
    z.range.start = page;
    z.range.len = length;
    return Install(fd, UFFDIO_ZEROPAGE, &z, &z.zeropage);
  }

  static int64_t Copy(int fd, uint64_t page, const uint8_t* src, uint64_t length, uint64_t mode) {
    uffdio_copy c{};
    c.dst = page;
    c.src = reinterpret_cast<uint64_t>(src);
    c.len = length;
    c.mode = mode;
    return Install(fd, UFFDIO_COPY, &c, &c.copy);
  }

  static void Wake(int fd, uint64_t page, uint64_t ps) {
    uffdio_range r{page, ps};
    ioctl(fd, UFFDIO_WAKE, &r);
  }

  // pread the whole run; past the end of the file reads as zero (file.ts does the same).
  static bool ReadFile(int fd, uint64_t at, uint8_t* out, uint64_t length) {
    uint64_t done = 0;
    while (done < length) {
      ssize_t n = pread(fd, out + done, length - done, static_cast<off_t>(at + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return false;  // JS reports it under the region's policy
      }
      if (n == 0) break;
      done += static_cast<uint64_t>(n);
    }
    if (done < length) std::memset(out + done, 0, length - done);
    return true;
  }

  // Page-aligned scratch of at least `length` bytes (grown as regions with more readahead come).
  uint8_t* Scratch(uint64_t length) { return Grow(&scratch_, &scratch_bytes_, length); }

  // At least `length` bytes that are never written: they read as zero.
  const uint8_t* Zeros(uint64_t length) { return Grow(&zeros_, &zeros_bytes_, length); }

  static uint8_t* Grow(uint8_t** buffer, uint64_t* bytes, uint64_t length) {
    if (length <= *bytes) return *buffer;
    void* p = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    // Whole 2 MiB runs (readahead 512): transparent huge pages where the system allows them on
    // request, so install: 'move' moves a run as one huge page (scratch.ts does the same; best effort).
    if (length % kHugeRun == 0) madvise(p, length, MADV_HUGEPAGE);
    if (*buffer != nullptr) munmap(*buffer, *bytes);
    *buffer = static_cast<uint8_t*>(p);
    *bytes = length;
    return *buffer;
  }

  static constexpr int kEagainRetries = 64;
  static constexpr uint64_t kHugeRun = 2u << 20;

  RegionTableView table_;
  RegionStatsView stats_;
  FaultTraceView trace_;
  uint64_t page_size_ = 4096;
  uint8_t* scratch_ = nullptr;
  uint64_t scratch_bytes_ = 0;
  uint8_t* zeros_ = nullptr;
  uint64_t zeros_bytes_ = 0;
};

}  // namespace faultline::serve
