// When the leader should spin for the next fault instead of sleeping.
//
// Spinning saves the wake-up a sleeping handler pays per fault, but costs a
// CPU, and on some machines it is slower: if the faulting thread's CPU halts
// while it waits, the install must wake that CPU from another one (an IPI and
// a hypervisor exit on a VM), where a sleeping handler would have run on the
// faulting thread's own CPU. Which one wins changes with the machine's state
// (docs/performance.md has runs of both), so the leader measures it:
//
// - During a stream of faults (arrivals closer than kStreamGapNs) it times
//   epochs of kEpochFaults arrivals, one epoch spinning and one sleeping, and
//   keeps the faster (spinning must win by 10% to be worth its CPU)
//   for kKeepEpochs epochs, then measures again.
// - Faults further apart than the largest spin window are not a stream:
//   the leader sleeps (a spin would only burn the window).
#pragma once
#include <cstdint>

namespace faultline::serve {

class SpinPolicy {
 public:
  SpinPolicy() = default;
  explicit SpinPolicy(uint64_t max_spin_ns) : max_spin_ns_(max_spin_ns), gap_ewma_ns_(max_spin_ns) {}

  // How long to spin before sleeping, in ns.
  uint64_t Window() const {
    if (max_spin_ns_ == 0 || !spinning_) return 0;
    return gap_ewma_ns_ <= max_spin_ns_ ? max_spin_ns_ : 0;
  }

  // `count` messages arrived at `now_ns`, after the leader had waited `waited_ns`.
  void Arrived(uint64_t now_ns, uint64_t waited_ns, uint32_t count) {
    gap_ewma_ns_ = gap_ewma_ns_ - gap_ewma_ns_ / 8 + waited_ns / 8;
    if (max_spin_ns_ == 0) return;
    if (last_ns_ != 0 && now_ns - last_ns_ < kStreamGapNs) {
      epoch_ns_ += now_ns - last_ns_;
      epoch_faults_ += count;
      if (epoch_faults_ >= kEpochFaults) EndEpoch();
    }
    last_ns_ = now_ns;
  }

  bool spinning() const { return spinning_; }

 private:
  void EndEpoch() {
    uint64_t per_fault = epoch_ns_ / epoch_faults_;
    epoch_ns_ = 0;
    epoch_faults_ = 0;
    if (keep_ > 0) {
      if (--keep_ == 0) {
        // Measure again, this mode first.
        probing_ = true;
        probed_ = 0;
      }
      return;
    }
    if (!probing_) return;
    (spinning_ ? spin_ns_ : sleep_ns_) = per_fault;
    if (++probed_ < 2) {
      spinning_ = !spinning_;  // now measure the other
      return;
    }
    probing_ = false;
    spinning_ = spin_ns_ * kSpinMustWinDen < sleep_ns_ * kSpinMustWinNum;
    keep_ = kKeepEpochs;
  }

  static constexpr uint64_t kStreamGapNs = 1'000'000;
  static constexpr uint32_t kEpochFaults = 256;
  static constexpr uint32_t kKeepEpochs = 16;
  // Spin only when it is at least 10% faster per fault (spin * 100 < sleep * 90): a
  // smaller gain is within this machine's noise and not worth a CPU.
  static constexpr uint64_t kSpinMustWinNum = 90;
  static constexpr uint64_t kSpinMustWinDen = 100;

  uint64_t max_spin_ns_ = 0;
  uint64_t gap_ewma_ns_ = 0;
  uint64_t last_ns_ = 0;
  uint64_t epoch_ns_ = 0;
  uint32_t epoch_faults_ = 0;
  bool spinning_ = true;  // the first measurement starts spinning
  bool probing_ = true;
  int probed_ = 0;
  uint32_t keep_ = 0;
  uint64_t spin_ns_ = 0;
  uint64_t sleep_ns_ = 0;
};

}  // namespace faultline::serve
