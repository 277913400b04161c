// Reading the region table (core/src/shared/region-table.ts, the writer and
// the reference) from the native fast path. Layout: a 64-byte Int32 header
// (lock, version, capacity, high water), then entries of 16 Float64 words (15 used).
// Readers never lock: a seqlock (the version is odd while a writer mutates;
// a read is retried if it moved). Keep the constants in step with the TS.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>

namespace faultline::serve {

struct RegionEntry {
  int state = 0;
  uint32_t uffd_id = 0;
  uint64_t start = 0;
  uint64_t length = 0;
  int region_id = -1;
  uint64_t offset = 0;
  uint64_t readahead = 1;
  int flags = 0;
  int native_kind = 0;
  double native_arg = 0;
  uint64_t native_base = 0;
  uint64_t native_size = 0;
  uint64_t page_size = 0;  // the range's page size (hugetlbfs: 2 MiB)
  uint64_t eviction = 0;   // address of the region's eviction marker (core/src/shared/eviction-marker.ts); 0: it does not evict
  uint64_t dirty_bitmap = 0;  // trackWrites 'sync': the dirty bitmap's address (dirty_bitmap.h), 0: none
};

inline constexpr int kEntryFree = 0;
inline constexpr int kEntryRegion = 1;
inline constexpr int kEntryZero = 2;  // removed (REMOVE): zero pages whatever the resolver says

// Entry flags (region-table.ts FLAG_*).
inline constexpr int kFlagOnErrorZero = 1;
inline constexpr int kFlagRecord = 2;  // first-touch faults go to the fault trace
inline constexpr int kFlagTrackWrites = 4;  // installs are write-protected (WP_ASYNC write tracking)
inline constexpr int kFlagInstallMove = 8;  // scratch pages go in by UFFDIO_MOVE (install: 'move')

inline constexpr int kNativeNone = 0;
inline constexpr int kNativeZero = 1;
inline constexpr int kNativePattern = 2;
inline constexpr int kNativeFile = 3;
inline constexpr int kNativeSnapshot = 4;
inline constexpr int kNativePageCache = 5;  // minor faults: CONTINUE; missing: zero (arg 0) or JS (arg 1)

class RegionTableView {
 public:
  RegionTableView() = default;
  // `base` points at the table's SharedArrayBuffer (byte 0).
  explicit RegionTableView(uint8_t* base)
      : header_(reinterpret_cast<int32_t*>(base)),
        entries_(reinterpret_cast<double*>(base + kHeaderBytes)),
        capacity_(static_cast<uint32_t>(header_[kCapacity])) {}

  static size_t ByteLength(uint32_t capacity) { return kHeaderBytes + size_t{capacity} * kEntryWords * 8; }
  uint32_t capacity() const { return capacity_; }

  // Calls fn(uffd_id, start, length) for every live entry (a consistent
  // snapshot: re-run whole if a writer moved the version meanwhile).
  template <typename Fn>
  void ForEach(Fn fn) const {
    for (;;) {
      int32_t v1 = Header(kVersion).load();
      if ((v1 & 1) != 0) continue;
      uint32_t high = std::min<uint32_t>(static_cast<uint32_t>(Header(kHighWater).load()), capacity_);
      RegionEntry entries[64];
      uint32_t n = 0;
      bool complete = true;
      for (uint32_t i = 0; i < high; i++) {
        if (Field(i, kState) == kEntryFree) continue;
        if (n == 64) {
          complete = false;  // more than fit: hand out what we have, then the rest next round
          break;
        }
        Read(i, &entries[n++]);
      }
      if (Header(kVersion).load() != v1) continue;
      for (uint32_t i = 0; i < n; i++) fn(entries[i].uffd_id, entries[i].start, entries[i].length);
      if (complete) return;
      // Rare (more than 64 entries): fall back to one entry at a time.
      for (uint32_t i = 0; i < high; i++) {
        RegionEntry e;
        if (Field(i, kState) == kEntryFree) continue;
        Read(i, &e);
        fn(e.uffd_id, e.start, e.length);
      }
      return;
    }
  }

  // What serves `address` of uffd `uffd_id` (a removed range wins over its
  // region), as region-table.ts lookup() does. False when nothing covers it.
  bool Lookup(uint32_t uffd_id, uint64_t address, RegionEntry* out) const {
    for (;;) {
      int32_t v1 = Header(kVersion).load();
      if ((v1 & 1) != 0) continue;  // a writer is mid-update
      uint32_t high = std::min<uint32_t>(static_cast<uint32_t>(Header(kHighWater).load()), capacity_);
      int found = -1;
      for (uint32_t i = 0; i < high; i++) {
        double state = Field(i, kState);
        if (state == kEntryFree || Field(i, kUffd) != uffd_id) continue;
        double start = Field(i, kStart);
        if (static_cast<double>(address) < start || static_cast<double>(address) >= start + Field(i, kLength)) continue;
        found = static_cast<int>(i);
        if (state == kEntryZero) break;
      }
      if (found >= 0) Read(static_cast<uint32_t>(found), out);
      if (Header(kVersion).load() == v1) return found >= 0;
    }
  }

 private:
  static constexpr size_t kHeaderBytes = 64;
  static constexpr int kVersion = 1;
  static constexpr int kCapacity = 2;
  static constexpr int kHighWater = 3;
  static constexpr uint32_t kEntryWords = 16;
  static constexpr int kState = 0, kUffd = 1, kStart = 2, kLength = 3, kRegion = 4, kOffset = 5, kReadahead = 6, kFlags = 7,
                       kNative = 8, kNativeArg = 9, kNativeBase = 10, kNativeSize = 11, kPageSize = 12,
                       kEviction = 13, kDirtyBitmap = 14;

  std::atomic_ref<int32_t> Header(int word) const { return std::atomic_ref<int32_t>(header_[word]); }
  // Relaxed: ordered by the seqlock's version loads around the scan.
  double Field(uint32_t entry, int word) const {
    return std::atomic_ref<double>(entries_[entry * kEntryWords + word]).load(std::memory_order_relaxed);
  }

  void Read(uint32_t i, RegionEntry* out) const {
    out->state = static_cast<int>(Field(i, kState));
    out->uffd_id = static_cast<uint32_t>(Field(i, kUffd));
    out->start = static_cast<uint64_t>(Field(i, kStart));
    out->length = static_cast<uint64_t>(Field(i, kLength));
    out->region_id = static_cast<int>(Field(i, kRegion));
    out->offset = static_cast<uint64_t>(Field(i, kOffset));
    out->readahead = static_cast<uint64_t>(Field(i, kReadahead));
    out->flags = static_cast<int>(Field(i, kFlags));
    out->native_kind = static_cast<int>(Field(i, kNative));
    out->native_arg = Field(i, kNativeArg);
    out->native_base = static_cast<uint64_t>(Field(i, kNativeBase));
    out->native_size = static_cast<uint64_t>(Field(i, kNativeSize));
    out->page_size = static_cast<uint64_t>(Field(i, kPageSize));
    out->eviction = static_cast<uint64_t>(Field(i, kEviction));
    out->dirty_bitmap = static_cast<uint64_t>(Field(i, kDirtyBitmap));
  }

  int32_t* header_ = nullptr;
  double* entries_ = nullptr;
  uint32_t capacity_ = 0;
};

// Region counters (core/src/shared/region-stats.ts STAT_NAMES, in that order).
enum RegionStat : int {
  kStatFaults = 0,
  kStatPagesInstalled,
  kStatResolverCalls,
  kStatEexist,
  kStatZeroFills,
  kStatPoisoned,
  kStatErrors,
  kStatRetries,
  kStatDropped,
  kStatContinued,
  kStatMoved,
  kStatCount
};

class RegionStatsView {
 public:
  RegionStatsView() = default;
  RegionStatsView(int32_t* words, size_t count) : words_(words), count_(count) {}
  void Add(int region_id, RegionStat stat, int32_t n = 1) const {
    size_t i = static_cast<size_t>(region_id) * kStatCount + stat;
    if (region_id >= 0 && i < count_) std::atomic_ref<int32_t>(words_[i]).fetch_add(n);
  }
  // The counter read as unsigned (it wraps after 4 G, as the TS reader assumes); 0 for an unknown region.
  uint32_t Get(int region_id, RegionStat stat) const {
    size_t i = static_cast<size_t>(region_id) * kStatCount + stat;
    return region_id >= 0 && i < count_ ? static_cast<uint32_t>(std::atomic_ref<int32_t>(words_[i]).load()) : 0;
  }

 private:
  int32_t* words_ = nullptr;
  size_t count_ = 0;
};

}  // namespace faultline::serve
