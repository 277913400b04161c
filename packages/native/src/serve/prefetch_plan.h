// A running prefetch's plan, shared by the thread that installs it
// (prefetcher.cc) and the serve loops that answer demand faults
// (native_path.h): the recorded working set in recorded order, its pages'
// bytes (the trace file's page data, mapped read-only), and one claim per
// plan position so each page is installed once.
//
// Why the serve loops take part: a restored process touches its working set
// in about the order it was recorded, and on one CPU it catches up with the
// prefetch thread again and again. Each catch-up was a full demand fault
// (~8 us) plus a wasted install by the prefetch thread (an EEXIST copy costs
// as much as a real one). Instead, a demand fault on a plan page installs
// that page and the next plan pages nobody has claimed yet, straight from the
// page data: the process is fed a window ahead, the prefetch thread skips
// what a fault took, and no page is copied twice.
#pragma once
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "copy_pages.h"
#include "region_table.h"

namespace faultline::serve {

class PrefetchPlan {
 public:
  // Plan positions a demand fault installs past its own page (its own page
  // first: it is woken at once). Measured in the restore bench pinned to one
  // CPU (32/64/128): 64 halves the demand faults of 32 and their p99 latency
  // (57 -> 12 us) and is ~2 ms faster; 128 gains nothing more. On two CPUs the
  // faulting thread runs on while its serve loop finishes the window.
  static constexpr uint32_t kFaultWindow = 64;
  // The window in bytes at most (64 pages of 4 KiB): a hugetlb plan's fault
  // takes one 2 MiB page ahead, not 64, so no serve loop is held for
  // milliseconds while other faults wait for it.
  static constexpr uint64_t kFaultWindowBytes = 256u << 10;
  uint64_t FaultWindow() const { return std::clamp<uint64_t>(kFaultWindowBytes / page_size_, 1, kFaultWindow); }
#ifdef MADV_POPULATE_READ
  static constexpr int kPopulateRead = MADV_POPULATE_READ;
#else
  static constexpr int kPopulateRead = 22;  // <linux/mman.h>, Linux 5.14
#endif

  PrefetchPlan(uint32_t uffd_id, int region_id, uint64_t address, uint64_t offset, uint64_t page_size, uint64_t mode,
               std::vector<uint32_t> pages, const uint8_t* data, uint64_t data_bytes, int32_t* cancel)
      : uffd_id_(uffd_id),
        region_id_(region_id),
        address_(address),
        offset_(offset),
        page_size_(page_size),
        mode_(mode),
        pages_(std::move(pages)),
        data_(data),
        data_bytes_(data_bytes),
        cancel_(cancel),
        claims_(new std::atomic<uint8_t>[pages_.size()]) {
    uint32_t most = 0;
    for (uint32_t p : pages_) most = std::max(most, p);
    position_.assign(pages_.empty() ? 0 : static_cast<size_t>(most) + 1, -1);
    for (size_t i = pages_.size(); i-- > 0;) position_[pages_[i]] = static_cast<int32_t>(i);  // a page listed twice: its first place
    for (size_t i = 0; i < pages_.size(); i++) claims_[i].store(0, std::memory_order_relaxed);
  }
  ~PrefetchPlan() {
    if (data_ != nullptr) munmap(const_cast<uint8_t*>(data_), data_bytes_);
  }
  PrefetchPlan(const PrefetchPlan&) = delete;
  PrefetchPlan& operator=(const PrefetchPlan&) = delete;

  uint32_t uffd_id() const { return uffd_id_; }
  int region_id() const { return region_id_; }
  uint64_t page_size() const { return page_size_; }
  uint64_t mode() const { return mode_; }
  uint64_t size() const { return pages_.size(); }
  uint32_t page(uint64_t i) const { return pages_[i]; }
  uint64_t AddressOf(uint64_t i) const { return address_ + static_cast<uint64_t>(pages_[i]) * page_size_; }
  const uint8_t* BytesOf(uint64_t i) const { return data_ + i * page_size_; }
  // Maps plan positions [from, from + count)'s page data into this process's
  // page table before they are copied: UFFDIO_COPY reads its source with
  // page faults disabled (it holds the target's locks), so an unmapped source
  // page makes it drop them, fault the page in and start over, which costs
  // more than mapping the whole window at once beforehand. Best effort
  // (MADV_POPULATE_READ is Linux 5.14+; else the copies fault as before).
  void MapData(uint64_t from, uint64_t count) const {
    if (count == 0) return;
    if (madvise(const_cast<uint8_t*>(BytesOf(from)), count * page_size_, kPopulateRead) != 0) {
      madvise(const_cast<uint8_t*>(BytesOf(from)), count * page_size_, MADV_WILLNEED);
    }
  }
  bool Cancelled() const { return std::atomic_ref<int32_t>(*cancel_).load(std::memory_order_relaxed) != 0; }

  // The plan position of the page at `address` (page aligned), or -1.
  int64_t PositionOf(uint64_t address) const {
    if (address < address_) return -1;
    uint64_t page = (address - address_) / page_size_;
    return page < position_.size() ? position_[page] : -1;
  }

  // True for the one caller that gets to install plan position `i`.
  bool Claim(uint64_t i) { return claims_[i].exchange(1, std::memory_order_relaxed) == 0; }

  // The region table still serves plan position `i` as this region's page,
  // at the resolver offset it was recorded at, not discarded: else it is not
  // the plan's to fill any more (unmapped, REMOVEd, re-registered).
  bool ServedHere(const RegionTableView& table, uint64_t i) const {
    RegionEntry e;
    return table.Lookup(uffd_id_, AddressOf(i), &e) && Serves(e, i);
  }
  // The same, for the entry already looked up for plan position i's address.
  bool Serves(const RegionEntry& e, uint64_t i) const {
    return e.state == kEntryRegion && e.uffd_id == uffd_id_ && e.region_id == region_id_ &&
           e.offset + (AddressOf(i) - e.start) == offset_ + static_cast<uint64_t>(pages_[i]) * page_size_;
  }

  // What installing some plan positions came to (InstallPositions).
  struct Tally {
    uint64_t installed = 0, already = 0, cancelled = 0, failed = 0;
    int first_errno = 0;  // of the first failure
  };

  // Claims plan positions [from, from + count) (count <= kFaultWindow) and
  // installs the ones this caller got and the region still serves, one
  // UFFDIO_COPY per run of consecutive addresses, from the page data. The
  // prefetch thread and demand faults' windows both install this way.
  // Positions someone else claimed are not counted: their claimant counts them.
  Tally InstallPositions(int fd, const RegionTableView& table, uint64_t from, uint64_t count) {
    uint64_t dst[kFaultWindow] = {};  // (initialised: GCC cannot see that only [0, count) is read)
    int32_t result[kFaultWindow];
    count = std::min<uint64_t>(count, kFaultWindow);  // the callers' bound, kept where the arrays are
    Tally t;
    for (uint64_t k = 0; k < count; k++) {
      bool mine = Claim(from + k);
      dst[k] = mine && ServedHere(table, from + k) ? AddressOf(from + k) : 0;
      if (mine && dst[k] == 0) t.cancelled++;  // not this region's any more: not ours to fill
    }
    t.installed = CopyPages(fd, dst, count, BytesOf(from), page_size_, mode_, result);
    for (uint64_t k = 0; k < count; k++) {
      if (dst[k] == 0 || result[k] == 1) continue;
      if (result[k] == 0) {
        t.already++;  // a demand fault installed it first (EEXIST)
      } else if (result[k] == -ENOENT || result[k] == -ESRCH) {
        t.cancelled++;  // the range or the process is gone
      } else {
        t.failed++;  // left to its own demand fault, which takes the usual path
        if (t.first_errno == 0) t.first_errno = -result[k];
      }
    }
    return t;
  }

  // What demand faults did with the plan positions they claimed (the prefetch
  // thread reports them with its own): `installed` are window pages; a
  // faulting page is `already` (a demand install, in the region's counters).
  struct FaultCounts {
    std::atomic<uint64_t> installed{0}, already{0}, cancelled{0}, failed{0};
  };
  FaultCounts& fault_counts() { return fault_counts_; }

  // Serve loops using the plan right now (plans::Use): the prefetch thread
  // waits for them after taking the plan off the list, so its report counts
  // every window and the page data stays mapped while any is being copied.
  std::atomic<int32_t>& users() { return users_; }

 private:
  const uint32_t uffd_id_;
  const int region_id_;
  const uint64_t address_;  // page 0 of the region
  const uint64_t offset_;   // resolver offset of page 0
  const uint64_t page_size_;
  const uint64_t mode_;  // UFFDIO_COPY mode (WP for write-tracked regions)
  const std::vector<uint32_t> pages_;
  const uint8_t* const data_;  // page i of the plan at data_ + i * page_size_
  const uint64_t data_bytes_;
  int32_t* const cancel_;
  std::vector<int32_t> position_;  // region page -> plan position, -1 when not in the plan
  std::unique_ptr<std::atomic<uint8_t>[]> claims_;
  FaultCounts fault_counts_;
  std::atomic<int32_t> users_{0};
};

// The plans running in this process. Serve loops look theirs up on each
// fault of a region with one, so the common case (no prefetch running) is
// one relaxed load.
namespace plans {
void Add(const std::shared_ptr<PrefetchPlan>& plan);
// Takes the plan off the list, then waits until no serve loop uses it.
void Remove(const PrefetchPlan* plan);
bool AnyRunning();

// A serve loop's hold on the plan of (uffd, region), if one is running.
class Use {
 public:
  Use(uint32_t uffd_id, int region_id);
  ~Use();
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;
  PrefetchPlan* get() const { return plan_.get(); }

 private:
  std::shared_ptr<PrefetchPlan> plan_;
};
}  // namespace plans

}  // namespace faultline::serve
