// A fault of an evicting region (map maxResident) on the native fast path:
// whether it may be served here, and how many pages of its readahead may go
// in with it. Holds the marker's gate shared from the look at the marker
// until it is destroyed, after the install (evict/eviction_marker.h: the
// native evictor cannot publish and move a run out in between).
//
// A window wider than the faulting page is used only where it pays: the
// fault continues the window its thread faulted last, i.e. that thread reads
// the region in order (it is safe wherever this path serves: both evictors
// take the gate). A random access pattern gets
// one page per fault, as without readahead: installing pages nobody asked
// for would only evict pages in use sooner. Streams are told apart by the
// faulting thread (UFFD_FEATURE_THREAD_ID, which Faultline's own uffd asks
// for), so random faults of other threads do not break a scan's windows; a
// slot per thread id hash, a collision costs a window, nothing else. The
// window stops before the run being moved out and at the region's hard cap.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <optional>

#include "../evict/eviction_marker.h"

static_assert(faultline::evict::kStreamSlots == 32, "the slot hash takes the top 5 bits");

namespace faultline::serve {

class EvictionWindow {
 public:
  EvictionWindow() = default;
  EvictionWindow(const EvictionWindow&) = delete;
  EvictionWindow& operator=(const EvictionWindow&) = delete;
  ~EvictionWindow() {
    if (gate_) gate_->LeaveShared();
  }

  // `index`: the faulting page in the region; `tid`: the faulting thread (0 when the uffd does not
  // say); `installed`: the region's pagesInstalled counter;
  // `*pages`: the readahead window asked for (at least 1), cut to what may go in. False: leave
  // the fault to JS (fault.ts waits): its page is in the run being moved out, or the region is
  // over its hard cap. The same checks as fault.ts, in the same order.
  bool Open(int32_t* marker, int64_t index, uint32_t tid, uint32_t installed, uint64_t* pages) {
    marker_ = marker;
    gate_.emplace(marker);
    gate_->EnterShared();
    bool active = Word(evict::kMarkerActive) == 1;
    int64_t first = Word(evict::kMarkerFirst), end = Word(evict::kMarkerEnd);
    if (active && index >= first && index < end) return false;
    int64_t resident = static_cast<int64_t>(installed) - static_cast<uint32_t>(Word(evict::kMarkerEvicted));
    int64_t cap = Word(evict::kMarkerHardCap);
    if (resident > cap) return false;
    const int slot = evict::kMarkerStreams + evict::kStreamWords * static_cast<int>((tid * 2654435761u) >> 27);  // 32 slots
    if (*pages > 1) {
      // In order: past the first page of the thread's last window, up to its end. A window that met
      // pages already resident stopped there, so the next fault of the scan can come before the end.
      bool continues = static_cast<uint32_t>(Word(slot)) == tid && index > Word(slot + 1) && index <= Word(slot + 2);
      if (!continues) {
        *pages = 1;
      } else {
        if (active && first > index && first < index + static_cast<int64_t>(*pages)) *pages = static_cast<uint64_t>(first - index);
        *pages = std::min<uint64_t>(*pages, static_cast<uint64_t>(std::max<int64_t>(1, cap - resident)));
      }
    }
    std::atomic_ref<int32_t>(marker_[slot]).store(static_cast<int32_t>(tid), std::memory_order_relaxed);
    std::atomic_ref<int32_t>(marker_[slot + 1]).store(static_cast<int32_t>(index), std::memory_order_relaxed);
    std::atomic_ref<int32_t>(marker_[slot + 2]).store(static_cast<int32_t>(index + static_cast<int64_t>(*pages)), std::memory_order_relaxed);
    return true;
  }

 private:
  int32_t Word(int i) const { return std::atomic_ref<int32_t>(marker_[i]).load(); }

  int32_t* marker_ = nullptr;
  std::optional<evict::EvictionGate> gate_;
};

}  // namespace faultline::serve
