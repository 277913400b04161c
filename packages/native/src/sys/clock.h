// The monotonic clock, for deadlines and elapsed times (never wall time).
#pragma once
#include <time.h>

#include <cstdint>

namespace faultline::sys {

inline uint64_t MonotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

inline int64_t MonotonicMs() { return static_cast<int64_t>(MonotonicNs() / 1000000u); }

}  // namespace faultline::sys
