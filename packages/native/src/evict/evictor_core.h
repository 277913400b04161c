// The native evictor of one region mapped with maxResident (core
// handler/evictors.ts starts it): the policy of core's JS evictor
// (worker/evictor-thread.ts; docs/memory.md "Eviction with writeback") on a
// native thread, for regions whose store the native layer can write itself
// (resolvers.file with writable: true) or that write nothing back.
//
// Same policy, step for step, so the bench's C reference (testing/baseline/
// ooc_c.c) stays a fair peer: past maxPages resident, a clock hand sweeps
// the present pages (PAGEMAP_SCAN) from where it stopped, in runs of up to
// runPages contiguous pages, down to targetPages. Each run:
//   1. is published in the eviction marker (M_FIRST/M_END, then M_ACTIVE):
//      a fault on one of its pages is re-delivered until step 4;
//   2. is moved out with UFFDIO_MOVE into the staging buffer (atomic: a
//      concurrent write lands in the moved page or faults after it). Steps 1
//      and 2 hold the marker's gate, which the native fast path's readahead
//      windows take too (eviction_marker.h says why);
//   3. with writeback: the run is read from the file (one pread), each moved
//      page compared with it in place in the staging buffer, and each stretch
//      of pages that differ written with one pwrite. A pread or pwrite that
//      fails puts the pages back where they were (UFFDIO_MOVE back, nothing is
//      lost), reports the failure and rests eviction for a second;
//   4. M_EVICTED grows by the pages moved out (faults waiting for room wake),
//      and M_ACTIVE is cleared.
// The staging buffer is emptied (MADV_DONTNEED) when it is full or the pass
// ends, not after every run: the next runs are moved in behind the last one.
// The drop's TLB shootdown and page frees cost as much as the move itself,
// and the random phase's runs are one or two pages long, so dropping per run
// spent a quarter of the evictor's time there (docs/performance.md). The
// staged pages are already in the file: nothing waits for the drop, and the
// buffer never holds more than runPages pages, as before.
// What costs what: docs/performance.md "Out-of-core".
//
// Wake-ups: every party parks on the marker's words with futexes of this
// addon (futex.cc): a JS Atomics.wait is not woken by a native FUTEX_WAKE.
#pragma once
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <vector>

#include "../sys/clock.h"
#include "../sys/futex.h"
#include "../uffd_constants.h"
#include "eviction_marker.h"
#include "move_out.h"
#include "present_scan.h"

namespace faultline::evict {

struct EvictorConfig {
  int uffd = -1;
  uint64_t address = 0;  // the region
  uint64_t pages = 0;
  uint64_t page_size = 0;
  uint64_t max_pages = 0;     // evict when more than this are resident...
  uint64_t target_pages = 0;  // ...down to this many
  uint64_t run_pages = 64;
  int64_t interval_ms = 5;  // how often to look when nothing wakes us
  int file_fd = -1;         // writeback store (-1: no writeback, evicted pages are dropped)
  uint64_t file_base = 0;   // file offset of the region's byte 0
  int32_t* marker = nullptr;
  int32_t* installed = nullptr;  // the region's pagesInstalled counter (region-stats.ts)
  uint8_t* staging = nullptr;    // run_pages pages, registered on `uffd` (MOVE's destination must be)
  int pagemap_fd = -1;
};

// What the thread tells JS (through the binding), never waiting for it.
struct EvictorReport {
  enum Kind { kFlushed, kWritebackFailed, kStopped } kind;
  uint32_t seq = 0;          // kFlushed: the flush request served; kWritebackFailed: the flush whose pass failed (0: none)
  uint64_t first = 0, n = 0;  // kWritebackFailed: the run
  int err = 0;
  const char* syscall = "";
};

class EvictorCore {
 public:
  // How long eviction rests after a failed writeback (as the JS evictor).
  static constexpr int64_t kWritebackRetryMs = 1000;

  EvictorCore(const EvictorConfig& c, std::function<void(const EvictorReport&)> report)
      : c_(c), report_(std::move(report)), store_(c.file_fd >= 0 ? c.run_pages * c.page_size : 0) {}

  // The thread's body: until Stop().
  void Run() {
    uint32_t flushed = 0;
    while (!stop_.load()) {
      int32_t wake = Word(kMarkerWake).load();
      uint32_t flush = flush_requests_.load();
      if (flush != flushed) {
        serving_flush_ = flush;
        Evict(UINT64_MAX, /*flush=*/true);
        serving_flush_ = 0;
        flushed = flush;
        report_({EvictorReport::kFlushed, flush});
        continue;
      }
      uint64_t resident = Resident();
      if (resident > c_.max_pages && sys::MonotonicMs() >= paused_until_ms_) Evict(resident - c_.target_pages, false);
      // Sleep until a fault finds the region over its hard cap (it wakes us), or look again soon.
      timespec t = sys::MillisecondsTimeout(Resident() > c_.max_pages * 7 / 8 ? 1 : c_.interval_ms);
      sys::FutexWait(&Word(kMarkerWake).ref(), wake, &t);
    }
    report_({EvictorReport::kStopped});
  }

  void Stop() {
    stop_.store(true);
    Poke();
  }

  // Returns the request's number; the thread reports kFlushed with it once everything resident went out.
  uint32_t RequestFlush() {
    uint32_t seq = flush_requests_.fetch_add(1) + 1;
    Poke();
    return seq;
  }

  uint64_t evicted() const { return evicted_.load(std::memory_order_relaxed); }
  uint64_t written_back() const { return written_back_.load(std::memory_order_relaxed); }
  uint64_t passes() const { return passes_.load(std::memory_order_relaxed); }
  uint64_t max_resident_seen() const { return max_resident_seen_.load(std::memory_order_relaxed); }

 private:
  // A marker word, shared with JS (Atomics) and the native fault path.
  struct MarkerWord {
    int32_t* p;
    int32_t load() const { return std::atomic_ref<int32_t>(*p).load(); }
    void store(int32_t v) const { std::atomic_ref<int32_t>(*p).store(v); }
    int32_t add(int32_t v) const { return std::atomic_ref<int32_t>(*p).fetch_add(v); }
    int32_t& ref() const { return *p; }
  };
  MarkerWord Word(int i) const { return MarkerWord{c_.marker + i}; }

  void Poke() {
    Word(kMarkerWake).add(1);
    sys::FutexWake(&Word(kMarkerWake).ref(), INT32_MAX);
  }

  // Pages resident now: installed minus moved out (one page per install in such a region). Costs two loads.
  uint64_t Resident() {
    uint32_t installed = static_cast<uint32_t>(std::atomic_ref<int32_t>(*c_.installed).load());
    uint32_t out = static_cast<uint32_t>(Word(kMarkerEvicted).load());
    uint64_t resident = installed > out ? installed - out : 0;
    if (resident > max_resident_seen_.load(std::memory_order_relaxed)) max_resident_seen_.store(resident, std::memory_order_relaxed);
    return resident;
  }

  // Resident pages above the low-water mark.
  uint64_t Excess() {
    uint64_t resident = Resident();
    return resident > c_.target_pages ? resident - c_.target_pages : 0;
  }

  // Evicts resident pages until `want` are out (a flush) or, otherwise, until no more than
  // target_pages are resident *now* (faults go on during a pass: counting them ends the
  // pass where the C reference's synchronous eviction ends, at the low-water mark, instead
  // of that far above it, which left the next pass racing the hard cap). Sweeps from the
  // clock hand: the present pages from the hand to the end, then from the start to the hand.
  void Evict(uint64_t want, bool flush) {
    passes_.fetch_add(1, std::memory_order_relaxed);
    EvictFrom(hand_, want, flush);
    DropStaging();
  }

  void EvictFrom(const uint64_t hand, uint64_t want, bool flush) {
    for (int part = 0; part < 2 && want > 0; part++) {
      uint64_t from = part == 0 ? hand : 0, to = part == 0 ? c_.pages : hand;
      if (from >= to || ScanPresent(c_.pagemap_fd, c_.address, c_.page_size, from, to, &ranges_) != 0) continue;
      for (const PresentRange& r : ranges_) {
        for (uint64_t first = r.first; first < r.end && want > 0;) {
          uint64_t n = std::min({r.end - first, c_.run_pages, want});
          bool failed = false;
          uint64_t out = EvictRun(first, n, &failed);
          want = flush ? want - out : Excess();
          first += n;
          // A writeback failed: rest (a flush too: the store refuses now, it is reported).
          if (failed || (!flush && sys::MonotonicMs() < paused_until_ms_)) return;
          hand_ = first % c_.pages;
          if (stop_.load()) return;
        }
      }
    }
  }

  // Steps 1-4 for pages [first, first + n); returns the pages evicted.
  uint64_t EvictRun(uint64_t first, uint64_t n, bool* failed) {
    const uint64_t ps = c_.page_size;
    if (staged_ + n > c_.run_pages) DropStaging();  // no room behind the last run
    uint8_t* const staging = c_.staging + staged_ * ps;
    // Published and moved out with the gate held: a fault window either sees the run and stops
    // before it, or went in before the move, and its pages go out with the run (eviction_marker.h).
    EvictionGate gate(c_.marker);
    gate.EnterExclusive();
    Word(kMarkerEpoch).add(1);
    Word(kMarkerFirst).store(static_cast<int32_t>(first));
    Word(kMarkerEnd).store(static_cast<int32_t>(first + n));
    Word(kMarkerActive).store(1);
    // Move what is there (a page may have gone since the scan only by our own hand; holes stay).
    // Which pages went is read back from the slots when the kernel's answers were short: it can
    // report a page it moved as refused (move_out.h).
    auto move = [this](uint64_t dst, uint64_t src, uint64_t len) { return UffdMove(c_.uffd, dst, src, len, UFFDIO_MOVE_MODE_DONTWAKE); };
    int64_t out = MoveRunOut(move, c_.pagemap_fd, reinterpret_cast<uint64_t>(staging), c_.address + first * ps, n, ps, &moved_, &slot_ranges_);
    if (out < 0) {
      // Cannot read our own page table: count what the kernel said, and say that the run may lose pages.
      LogLine("faultline: evictor could not read which pages moved out (errno %d); pages %llu..%llu may lose their last writes\n",
              static_cast<int>(-out), static_cast<unsigned long long>(first), static_cast<unsigned long long>(first + n - 1));
      out = static_cast<int64_t>(std::count(moved_.begin(), moved_.end(), 1));
    }
    uint64_t evicted = static_cast<uint64_t>(out);
    gate.LeaveExclusive();
    if (evicted > 0 && c_.file_fd >= 0) {
      EvictorReport failure{EvictorReport::kWritebackFailed};
      if (!WriteBack(staging, first, n, &failure)) {
        // The store refused: put the pages back where they were (nothing is lost), say so,
        // and leave the region alone for a while rather than fail again at once.
        PutBack(staging, first, n);
        paused_until_ms_ = sys::MonotonicMs() + kWritebackRetryMs;
        failure.seq = serving_flush_;  // a flush's pass failed (0: a background pass): that flush is told
        failure.first = first;
        failure.n = n;
        report_(failure);
        *failed = true;
        evicted = 0;
      }
    }
    if (evicted > 0) {
      evicted_.fetch_add(evicted, std::memory_order_relaxed);
      // Faults waiting for room (backpressure) look again. Seq-cst add, then the waiter count:
      // a waiter counts itself before it reads M_EVICTED (eviction-marker.ts waitForRoom).
      Word(kMarkerEvicted).add(static_cast<int32_t>(evicted));
      if (Word(kMarkerRoomWaiters).load() > 0) sys::FutexWake(&Word(kMarkerEvicted).ref(), INT32_MAX);
    }
    Word(kMarkerActive).store(0);
    staged_ += n;  // the run's slots hold moved-out pages (or holes) until the next drop
    return evicted;
  }

  // Empties the staging buffer: the next run moves in at its start.
  void DropStaging() {
    if (staged_ == 0) return;
    madvise(c_.staging, staged_ * c_.page_size, MADV_DONTNEED);
    staged_ = 0;
  }

  // Writes back the moved pages whose bytes differ from the file's; false (with `failure` filled) if the file refused.
  bool WriteBack(const uint8_t* staging, uint64_t first, uint64_t n, EvictorReport* failure) {
    const uint64_t ps = c_.page_size, bytes = n * ps;
    const off_t at = static_cast<off_t>(c_.file_base + first * ps);
    uint64_t done = 0;
    while (done < bytes) {
      ssize_t r = pread(c_.file_fd, store_.data() + done, bytes - done, at + static_cast<off_t>(done));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return Failed(failure, errno, "pread");
      if (r == 0) break;  // end of file: the rest reads as zero, as the file resolver gives it
      done += static_cast<uint64_t>(r);
    }
    std::memset(store_.data() + done, 0, bytes - done);
    // The staged pages are compared where they are: every one compared was moved in, so reading it cannot fault.
    auto differs = [&](uint64_t k) { return moved_[k] && std::memcmp(staging + k * ps, store_.data() + k * ps, ps) != 0; };
    for (uint64_t k = 0; k < n;) {
      if (!differs(k)) {
        k++;
        continue;
      }
      uint64_t e = k + 1;
      while (e < n && differs(e)) e++;
      const uint64_t len = (e - k) * ps;
      for (uint64_t w = 0; w < len;) {
        ssize_t r = pwrite(c_.file_fd, staging + k * ps + w, len - w, at + static_cast<off_t>(k * ps + w));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return Failed(failure, r < 0 ? errno : ENOSPC, "pwrite");
        w += static_cast<uint64_t>(r);
      }
      written_back_.fetch_add(e - k, std::memory_order_relaxed);
      k = e;
    }
    return true;
  }

  static bool Failed(EvictorReport* failure, int err, const char* syscall) {
    failure->err = err;
    failure->syscall = syscall;
    return false;
  }

  // Moves the run's pages back from staging (a failed writeback): they are as they were, resident.
  void PutBack(uint8_t* staging, uint64_t first, uint64_t n) {
    const uint64_t ps = c_.page_size;
    for (uint64_t k = 0; k < n; k++) {
      if (!moved_[k]) continue;
      const uint64_t slot = reinterpret_cast<uint64_t>(staging + k * ps);
      if (UffdMove(c_.uffd, c_.address + (first + k) * ps, slot, ps, 0) == ps) continue;
      const int err = errno;
      // A refusal is believed only if the page is still in its slot (move_out.h: a move can be reported refused and done).
      if (ScanPresent(c_.pagemap_fd, slot, ps, 0, 1, &slot_ranges_) == 0 && slot_ranges_.empty()) continue;
      // Cannot happen while the run is marked (its faults wait); if it does, the bytes must not be lost silently.
      LogLine("faultline: could not move page %llu back after a failed writeback (errno %d)\n", static_cast<unsigned long long>(first + k), err);
    }
  }

  // One line on stderr, written at once (no stdio buffer between threads).
  template <class... Args>
  static void LogLine(const char* format, Args... args) {
    char line[200];
    int len = snprintf(line, sizeof(line), format, args...);
    if (len > 0 && write(2, line, std::min(static_cast<size_t>(len), sizeof(line) - 1)) < 0) {
      // nothing more to do
    }
  }

  EvictorConfig c_;
  std::function<void(const EvictorReport&)> report_;
  std::vector<uint8_t> store_;  // the run as the file has it
  std::vector<uint8_t> moved_;  // per page of the run: moved out
  std::vector<PresentRange> ranges_;
  std::vector<PresentRange> slot_ranges_;  // the staging slots that hold a page (MoveRunOut)
  uint64_t hand_ = 0;
  uint64_t staged_ = 0;  // staging slots in use since the last drop
  int64_t paused_until_ms_ = 0;
  uint32_t serving_flush_ = 0;  // the flush request the pass in progress serves (0: a background pass)
  std::atomic<bool> stop_{false};
  std::atomic<uint32_t> flush_requests_{0};
  std::atomic<uint64_t> evicted_{0}, written_back_{0}, passes_{0}, max_resident_seen_{0};
};

}  // namespace faultline::evict
