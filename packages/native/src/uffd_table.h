// The uffd table (core/src/shared/uffd-table.ts): an Int32Array over a
// SharedArrayBuffer, fd per uffd id, -1 when free. Ring records carry ids.
#pragma once
#include <atomic>
#include <cstdint>

namespace faultline {

inline constexpr int64_t kUffdTableFull = -1;
inline constexpr int64_t kUffdAlreadyInTable = -2;

// Takes the first free entry for `fd` by compare-and-swap: the JS side claims
// entries the same way (FaultHandler.adopt) from another thread, and native
// readers claim them for fork children, so a plain check-then-store could
// hand one id out twice. Returns the id, kUffdAlreadyInTable or kUffdTableFull.
inline int64_t ClaimUffdId(int32_t* table, uint32_t size, int fd) {
  for (uint32_t id = 0; id < size; id++) {
    if (std::atomic_ref<int32_t>(table[id]).load() == fd) return kUffdAlreadyInTable;
  }
  for (uint32_t id = 0; id < size; id++) {
    int32_t expected = -1;
    if (std::atomic_ref<int32_t>(table[id]).compare_exchange_strong(expected, fd)) return id;
  }
  return kUffdTableFull;
}

}  // namespace faultline
