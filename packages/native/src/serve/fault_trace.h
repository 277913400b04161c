// The fault trace: first-touch faults of recording regions, appended by
// whichever thread served them (this native path, or JS in fault.ts), in the
// order they were served. core/src/shared/fault-trace.ts owns the layout and
// reads it; keep the two in step.
//
//   header (64 bytes, int32 words): [0] next entry index (fetch_add claims
//   one), [1] capacity in entries.
//   entries (4 uint32 words each): region id, page index in the region's
//   resolver space (offset / page size), microseconds since the handler's
//   epoch, 0.
//
// An append past the capacity is not written (the count still moves, so the
// reader sees how many were lost).
#pragma once
#include <time.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace faultline::serve {

class FaultTraceView {
 public:
  FaultTraceView() = default;
  FaultTraceView(int32_t* words, size_t word_count, double epoch_ms) : words_(words), epoch_ms_(epoch_ms) {
    if (words_ == nullptr || word_count < kHeaderWords) {
      words_ = nullptr;
      return;
    }
    size_t fits = (word_count - kHeaderWords) / kEntryWords;
    capacity_ = std::min<size_t>(fits, static_cast<size_t>(std::max<int32_t>(0, words_[1])));
  }

  void Append(int region_id, uint64_t page_index) const {
    if (words_ == nullptr) return;
    uint32_t i = static_cast<uint32_t>(std::atomic_ref<int32_t>(words_[0]).fetch_add(1, std::memory_order_relaxed));
    if (i >= capacity_) return;
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double us = static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3 - epoch_ms_ * 1e3;
    uint32_t* e = reinterpret_cast<uint32_t*>(words_ + kHeaderWords) + static_cast<size_t>(i) * kEntryWords;
    std::atomic_ref<uint32_t>(e[1]).store(static_cast<uint32_t>(page_index), std::memory_order_relaxed);
    std::atomic_ref<uint32_t>(e[2]).store(us > 0 ? static_cast<uint32_t>(us) : 0, std::memory_order_relaxed);
    // The region id last, +1 (0 means "not written yet"): a reader that sees it sees the rest.
    std::atomic_ref<uint32_t>(e[0]).store(static_cast<uint32_t>(region_id) + 1, std::memory_order_release);
  }

 private:
  static constexpr size_t kHeaderWords = 16;
  static constexpr size_t kEntryWords = 4;
  int32_t* words_ = nullptr;
  size_t capacity_ = 0;
  double epoch_ms_ = 0;
};

}  // namespace faultline::serve
