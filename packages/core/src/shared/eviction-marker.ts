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
 * The gate an install and the evictor's move of a run exclude each other
 * through (native src/evict/eviction_marker.h says why): >= 0 installs inside
 * (GATE_PENDING set while the evictor waits to enter), -1 the evictor is
 * publishing a run and moving it out.
 */
export const M_GATE = 7;
/** Runs published so far: the evictor adds 1 inside the gate, before the run's move. */
export const M_EPOCH = 10;
/** Native only, from word 16: 32 slots (thread id, first page and end of its last window) that tell a scan in order from random faults. */
const WORDS = 16 + 3 * 32;
const GATE_PENDING = 1 << 30;

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


/**
 * Before an install into an evicting region from bytes read at the epoch
 * `epochAtRead` (read before the marker was checked): enters the gate and
 * returns true if no run was published since, so no page the bytes cover can
 * have been moved out after they were read (its newer bytes would be on their
 * way to the store, and the install would put the old ones back); the caller
 * installs, then calls leaveInstallGate(). Returns false, outside the gate,
 * when a run was published meanwhile: the caller re-delivers the fault and it
 * is resolved again from the store.
 */
export function enterInstallGate(marker: Int32Array, epochAtRead: number): boolean {
  enterShared(marker);
  if (Atomics.load(marker, M_EPOCH) === epochAtRead) return true;
  leaveInstallGate(marker);
  return false;
}

/** After an install that enterInstallGate() let in. */
export function leaveInstallGate(marker: Int32Array): void {
  Atomics.sub(marker, M_GATE, 1);
}

/** The evictor's side: publishes and moves out a run inside the gate, alone; counts the run in M_EPOCH. */
export function publishAndMove(marker: Int32Array, publishAndMoveRun: () => void): void {
  Atomics.or(marker, M_GATE, GATE_PENDING);
  for (let spins = 0; Atomics.compareExchange(marker, M_GATE, GATE_PENDING, -1) !== GATE_PENDING; spins++) pause(marker, spins);
  try {
    Atomics.add(marker, M_EPOCH, 1);
    publishAndMoveRun();
  } finally {
    Atomics.store(marker, M_GATE, 0);
  }
}

function enterShared(marker: Int32Array): void {
  for (let spins = 0; ; spins++) {
    const v = Atomics.load(marker, M_GATE);
    if (v >= 0 && (v & GATE_PENDING) === 0 && Atomics.compareExchange(marker, M_GATE, v, v + 1) === v) return;
    pause(marker, spins);
  }
}

// The other side holds the gate for microseconds; past a short spin, sleep a little so that on
// one CPU it gets to run. Serve loops and evictors are worker threads (Atomics.wait is allowed).
function pause(marker: Int32Array, spins: number): void {
  if (spins >= 64) Atomics.wait(marker, M_GATE, Atomics.load(marker, M_GATE), 0.02);
}
