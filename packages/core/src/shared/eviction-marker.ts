/**
 * The eviction marker of a region mapped with maxResident: an Int32Array
 * shared by its evictor (worker/evictor-thread.ts, or the native one:
 * native/src/evict/) and every serve loop (worker/fault.ts, the native fast
 * path), so a fault can tell in a few loads whether its page is on its way to
 * the store and whether the region is over its hard cap.
 *
 * Everyone parks on its words with the addon's futexes (native.futexWait /
 * futexWake), never Atomics.wait/notify: V8's wait list does not see a
 * native FUTEX_WAKE, and the native evictor is a party.
 */
import native from '@faultline/native';

/** 1 while a run of pages is out (moved, not yet written back). */
export const M_ACTIVE = 0;
/** The run's first page and one past its last. */
export const M_FIRST = 1;
export const M_END = 2;
/** Pages resident past which a fault waits for the evictor (backpressure). */
export const M_HARD_CAP = 3;
/** Pages evicted so far (resident = pages installed - this); the evictor notifies it after each run. */
export const M_EVICTED = 4;
/** The evictor sleeps on this word; a fault over the cap bumps it and wakes it. */
export const M_WAKE = 5;
/** Faults waiting on M_EVICTED for room: the evictor makes the wake call only when there are some (it costs a syscall per run). */
export const M_ROOM_WAITERS = 6;
/**
 * Native only (native src/evict/eviction_marker.h): the gate a native fault
 * window and the native evictor's move exclude each other through; 1 while a
 * native evictor runs the region (readahead windows are safe); from word 16,
 * 32 slots (thread id, first page and end of its last window) that tell a
 * thread's scan in order from random faults.
 */
export const M_GATE = 7;
export const M_WINDOWS = 8;
const WORDS = 16 + 3 * 32;

/** Lays out a marker in `sab` (a new one by default; the handler passes a mapping the native path can address). */
export function createEvictionMarker(hardCapPages: number, sab: SharedArrayBuffer = new SharedArrayBuffer(WORDS * 4)): SharedArrayBuffer {
  new Int32Array(sab)[M_HARD_CAP] = hardCapPages;
  return sab;
}

/** Resident pages of the region, given its pagesInstalled counter. */
export function residentPages(marker: Int32Array, installed: number): number {
  return Math.max(0, installed - (Atomics.load(marker, M_EVICTED) >>> 0));
}

/**
 * Called by a serve loop before it installs a page of the region: while the
 * region is over its hard cap, wake the evictor and wait for it to make room,
 * at most `maxWaitMs` in all (the fault is served either way: a stuck
 * evictor must not park faults).
 */
export function waitForRoom(marker: Int32Array, installed: () => number, maxWaitMs: number): void {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const evicted = Atomics.load(marker, M_EVICTED);
    if (Math.max(0, installed() - (evicted >>> 0)) <= Atomics.load(marker, M_HARD_CAP)) return;
    const left = deadline - Date.now();
    if (left <= 0) return;
    // Counted before the evictor is woken: it adds to M_EVICTED, then looks here (both seq-cst),
    // so either it sees this waiter and wakes it, or the wait finds M_EVICTED moved and returns.
    Atomics.add(marker, M_ROOM_WAITERS, 1);
    wakeEvictor(marker);
    native.futexWait(marker, M_EVICTED, evicted, left);
    Atomics.sub(marker, M_ROOM_WAITERS, 1);
  }
}

/** After an evictor added to M_EVICTED: wakes the faults waiting for room, if any. */
export function wakeRoomWaiters(marker: Int32Array): void {
  if (Atomics.load(marker, M_ROOM_WAITERS) > 0) native.futexWake(marker, M_EVICTED, 0x7fffffff);
}

/** Wakes the region's evictor to look at its resident count (and flush or stop requests). */
export function wakeEvictor(marker: Int32Array): void {
  Atomics.add(marker, M_WAKE, 1);
  native.futexWake(marker, M_WAKE, 0x7fffffff);
}

