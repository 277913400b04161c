// The native side of a trackWrites: 'sync' region's dirty bitmap
// (core/src/shared/dirty-bitmap.ts is the reference and has the argument):
// a write-protect fault sets the page's bit and lifts the protection inside
// the bitmap's gate, so a reset (the main thread: read-and-clear the bits,
// protect the pages they listed) never interleaves with it. Layout: Int32
// words [0] faults inside the gate, [1] a reset holds or wants it, [2..3]
// unused, then the bitmap (bit i of word 4 + i / 32 is page i).
#pragma once
#include <sched.h>
#include <time.h>

#include <atomic>
#include <cstdint>

namespace faultline::serve {

class DirtyBitmapView {
 public:
  explicit DirtyBitmapView(uint64_t address) : words_(reinterpret_cast<int32_t*>(static_cast<uintptr_t>(address))) {}

  // Sets page `index`'s bit and calls `unprotect` inside the gate. A reset
  // under way is waited out (one pass over the bitmap and its protect
  // ioctls); the JS side notifies with Atomics.notify, which a native thread
  // cannot wait for, so this polls: a few yields, then 20 µs sleeps.
  template <typename Unprotect>
  void ServeWriteFault(uint64_t index, Unprotect unprotect) {
    for (int round = 0;; round++) {
      while (Word(kReset).load() != 0) Pause(round++);
      Word(kFaults).fetch_add(1);
      // Seq-cst: either this load sees the reset's flag, or the reset's load of the count sees us.
      if (Word(kReset).load() == 0) break;
      Word(kFaults).fetch_sub(1);
    }
    Word(kHeaderWords + static_cast<int>(index >> 5)).fetch_or(static_cast<int32_t>(1u << (index & 31)));
    unprotect();
    // The reset waits in 1 ms slices of Atomics.wait: it sees the count drop at its next look.
    Word(kFaults).fetch_sub(1);
  }

 private:
  static constexpr int kFaults = 0;
  static constexpr int kReset = 1;
  static constexpr int kHeaderWords = 4;

  std::atomic_ref<int32_t> Word(int i) const { return std::atomic_ref<int32_t>(words_[i]); }

  static void Pause(int round) {
    if (round < 64) {
      sched_yield();
      return;
    }
    timespec ts{0, 20'000};
    nanosleep(&ts, nullptr);
  }

  int32_t* words_;
};

}  // namespace faultline::serve
