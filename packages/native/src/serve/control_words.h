// The control block's words (core/src/shared/control-block.ts is the
// TypeScript half over the same SharedArrayBuffer; keep the two in step).
// Every word is accessed with seq_cst atomics on both sides.
#pragma once

namespace faultline::serve {

// Bumped by the main thread after posting control messages: a waiter that
// sees it move returns to JS so its loop can drain its MessagePort.
inline constexpr int kSeq = 0;
// 'fault' events: one fault in N is posted to main (0: off). JS only.
inline constexpr int kSampleEvery = 1;
// uffd messages the workers read themselves.
inline constexpr int kWorkerMessages = 2;
// Which worker leads (waits on the uffds): 0 none, else worker index + 1.
inline constexpr int kLeader = 3;
// Futex word the followers sleep on; bumped (and woken) to let one look again.
inline constexpr int kFollowerSeq = 4;
// 1 while the leader is blocked in read(2) or epoll_wait(2): whoever needs its
// attention then rings the doorbell (blocking read) or the kick eventfd (epoll).
inline constexpr int kLeaderParked = 5;
// How the leader waits: kModeRead or kModeEpoll (set by the main thread).
inline constexpr int kMode = 6;
// 1 once the handler is stopping: waiters return -1.
inline constexpr int kClosed = 7;
// Counters (diagnostics, handler.stats().serve).
inline constexpr int kSpinHits = 8;   // messages found while spinning (no sleep at all)
inline constexpr int kParks = 9;      // times the leader slept waiting for a fault
inline constexpr int kDoorbells = 10; // doorbell faults served (wake-ups of a leader in read(2))
inline constexpr int kHandoffs = 11;  // leaderships passed on to a sleeping follower
inline constexpr int kNativeServed = 12;  // faults served by the native fast path, no JS involved
// 1 once close() began: every fault read from now on gets its region's
// failure policy (in JS), so draining converges under continuous load.
inline constexpr int kClosing = 13;
inline constexpr int kDeadWorkers = 14;  // workers found dead by a follower (their faults re-delivered)

// Per-worker slots of kSlotWords words from kSlotBase: what a worker holds,
// so that others can tell when it died and recover what it held.
inline constexpr int kSlotBase = 16;
inline constexpr int kSlotWords = 8;
inline constexpr int kSlotBusy = 0;    // 1 while it holds messages it has not answered yet
inline constexpr int kSlotTid = 1;     // its thread id (0: never waited)
inline constexpr int kSlotSince = 2;   // JS: ms since the handler started when a resolver call began (0: none)
inline constexpr int kSlotUffd = 3;    // JS: that fault's uffd id
inline constexpr int kSlotPageLo = 4;  // JS: that fault's page, low and high 32 bits
inline constexpr int kSlotPageHi = 5;
inline constexpr int kSlotRegion = 6;  // JS: that fault's region id
inline constexpr int kMaxWorkers = 64;
inline constexpr int kWords = kSlotBase + kMaxWorkers * kSlotWords;

inline constexpr int SlotWord(int worker, int field) { return kSlotBase + worker * kSlotWords + field; }

// kMode values.
// The own uffd is the only one served and has no event features: it is a
// blocking fd and the leader sleeps in read(2) on it (one syscall per wait,
// as a plain C handler), spinning with preadv2(RWF_NOWAIT).
inline constexpr int kModeRead = 0;
// Several uffds (adopted ones, fork children) or events: every served uffd is
// non-blocking and in the handler's epoll set; the leader sleeps in epoll_wait.
inline constexpr int kModeEpoll = 1;

}  // namespace faultline::serve
