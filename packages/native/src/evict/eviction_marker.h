// The eviction marker of a region mapped with maxResident, as native code
// sees it: the word layout (core/src/shared/eviction-marker.ts has the same;
// keep in step) and the gate that lets the native fast path install a
// readahead window in an evicting region.
//
// Why a gate: a window's pages beyond the faulting one may be resident and
// written. If the evictor moved such a page out between the fault path's
// read of the store and its install, the install would put the store's old
// bytes back over a write still on its way to the store. Looking at the
// marker first is not enough (the move can start right after the look), so
// the native path holds the gate shared from its look at the marker until
// its install is done, and the native evictor holds it exclusively while it
// publishes a run and moves it out. Either a window sees the run in the
// marker and stops before it, or the run is moved out after the window went
// in, with the window's pages (and their writes) in it.
//
// The JS serve loops take it too, around an install only (their resolver's
// read can be slow and asynchronous, so they read first and check at install
// time, under the gate, that no run was published since: kMarkerEpoch), and so
// does the JS evictor around its publish and move. Nobody holds it across
// anything that can block for long (one pread of the page cache and one
// install; one UFFDIO_MOVE of a run): waits are short spins.
#pragma once
#include <sched.h>

#include <atomic>
#include <cstdint>

namespace faultline::evict {

inline constexpr int kMarkerActive = 0, kMarkerFirst = 1, kMarkerEnd = 2, kMarkerHardCap = 3, kMarkerEvicted = 4, kMarkerWake = 5,
                     kMarkerRoomWaiters = 6,
                     // >= 0: fault windows inside the gate (low bits), kGatePending set when the evictor waits
                     // to enter; -1: the evictor holds it.
                     kMarkerGate = 7,
                     // Runs published so far, counted inside the gate: JS installs check nothing was published
                     // since they read their bytes (core shared/eviction-marker.ts enterInstallGate).
                     kMarkerEpoch = 10,
                     // kStreamSlots slots of kStreamWords (faulting thread id, the first page and one past the
                     // last of its last window): a thread's fault inside that window, past its first page,
                     // continues its scan in order (serve/eviction_window.h).
                     kMarkerStreams = 16, kStreamSlots = 32, kStreamWords = 3, kMarkerWords = kMarkerStreams + kStreamWords * kStreamSlots;

inline constexpr int32_t kGatePending = 1 << 30;

class EvictionGate {
 public:
  explicit EvictionGate(int32_t* marker) : word_(marker[kMarkerGate]) {}

  // A fault window: waits while the evictor holds the gate or waits for it (so faults cannot starve it).
  void EnterShared() {
    for (int spins = 0;; spins++) {
      int32_t v = word_.load();
      if (v >= 0 && (v & kGatePending) == 0 && word_.compare_exchange_weak(v, v + 1)) return;
      Pause(spins);
    }
  }
  void LeaveShared() { word_.fetch_sub(1); }

  // The evictor (one per region): announces itself, then waits for the windows inside to finish.
  void EnterExclusive() {
    word_.fetch_or(kGatePending);
    for (int spins = 0;; spins++) {
      int32_t v = kGatePending;
      if (word_.compare_exchange_weak(v, -1)) return;
      Pause(spins);
    }
  }
  void LeaveExclusive() { word_.store(0); }

 private:
  // The other side is a few microseconds from leaving; on one CPU it needs ours to get there.
  static void Pause(int spins) {
    if (spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    } else {
      sched_yield();
    }
  }

  std::atomic_ref<int32_t> word_;
};

}  // namespace faultline::evict
