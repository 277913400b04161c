/**
 * The control block: Int32 words in a SharedArrayBuffer that the main
 * thread, the serve loops and their native waiters all see, so none of them
 * has to send a message for these (a serve loop asleep in a syscall cannot
 * receive one anyway). packages/native/src/serve/control_words.h is the C++
 * half over the same words; keep the two in step.
 *
 *   seq            bumped by main after posting control messages; a loop that
 *                  sees it move drains its MessagePort
 *   sampleEvery    'fault' events: one fault in N is posted to main (0: off)
 *   workerMessages uffd messages the workers read themselves
 *   leader         which worker waits on the uffds (0 none, else index + 1)
 *   followerSeq    futex word the other workers sleep on
 *   leaderParked   1 while the leader sleeps in read(2) / epoll_wait(2)
 *   mode           how the leader waits: MODE_READ or MODE_EPOLL
 *   closed         1 once the handler is stopping
 *   counters       spin hits, parks, doorbells, hand-offs, natively served,
 *                  dead workers recovered by a follower (handler.stats())
 *   closing        1 once close() began: faults read from then on get the
 *                  region's failure policy
 *   slot[w]        worker w's busy flag (1 while it holds messages or
 *                  resolutions in flight; close() waits for every flag to
 *                  drop), its thread id, and the resolver call it is in (when,
 *                  which page of which uffd and region) for the watchdog
 */
import native from '@faultline/native';

const SEQ = 0;
const SAMPLE_EVERY = 1;
const WORKER_MESSAGES = 2;
const LEADER = 3;
const FOLLOWER_SEQ = 4;
const LEADER_PARKED = 5;
const MODE = 6;
const CLOSED = 7;
const SPIN_HITS = 8;
const PARKS = 9;
const DOORBELLS = 10;
const HANDOFFS = 11;
const NATIVE_SERVED = 12;
const CLOSING = 13;
const DEAD_WORKERS = 14;
// Per-worker slots (serve/control_words.h): what a worker holds, so that
// others can tell when it died and recover what it held.
const SLOT_BASE = 16;
const SLOT_WORDS = 8;
const SLOT_BUSY = 0;
const SLOT_TID = 1;
const SLOT_SINCE = 2;
const SLOT_UFFD = 3;
const SLOT_PAGE_LO = 4;
const SLOT_PAGE_HI = 5;
const SLOT_REGION = 6;
/** The most workers a handler may have. */
export const MAX_WORKERS = 64;
const WORDS = SLOT_BASE + MAX_WORKERS * SLOT_WORDS;

const slot = (w: number, field: number): number => SLOT_BASE + w * SLOT_WORDS + field;

/** A resolver call a worker is in the middle of (for the hung-resolver watchdog). */
export interface ResolverCall {
  /** ms since the handler started when the call began. */
  since: number;
  uffdId: number;
  page: number;
  regionId: number;
}

/** The leader sleeps in read(2) on the own uffd, a blocking fd (it is the only uffd served). */
export const MODE_READ = 0;
/** The leader sleeps in epoll_wait(2) over every served uffd (non-blocking fds). */
export const MODE_EPOLL = 1;
export type WaitMode = typeof MODE_READ | typeof MODE_EPOLL;

/** What the workers' waiting did (handler.stats().workers). */
export interface WorkerCounters {
  /** uffd messages the workers read themselves. */
  messages: number;
  /** Messages found while the leader spun (no sleep, no wake-up). */
  spinHits: number;
  /** Times the leader slept waiting for a fault. */
  parks: number;
  /** Doorbell rings answered (wake-ups of a leader asleep in read(2)). */
  doorbells: number;
  /** Times the lead passed to a sleeping worker. */
  handoffs: number;
  /** Faults the waiter served itself (built-in resolvers, no JS involved). */
  nativeServed: number;
  /** Dead workers a sleeping worker found and recovered (their faults re-delivered). */
  deadWorkersRecovered: number;
}

export class ControlBlock {
  readonly words: Int32Array;

  static create(sampleEvery: number): ControlBlock {
    const block = new ControlBlock(new SharedArrayBuffer(WORDS * 4));
    Atomics.store(block.words, SAMPLE_EVERY, sampleEvery);
    return block;
  }

  constructor(sab: SharedArrayBuffer) {
    this.words = new Int32Array(sab);
  }

  get sab(): SharedArrayBuffer {
    return this.words.buffer as SharedArrayBuffer;
  }

  seq(): number {
    return Atomics.load(this.words, SEQ);
  }

  bumpSeq(): void {
    Atomics.add(this.words, SEQ, 1);
  }

  sampleEvery(): number {
    return Atomics.load(this.words, SAMPLE_EVERY);
  }

  counters(): WorkerCounters {
    const w = this.words;
    return {
      messages: Atomics.load(w, WORKER_MESSAGES) >>> 0,
      spinHits: Atomics.load(w, SPIN_HITS) >>> 0,
      parks: Atomics.load(w, PARKS) >>> 0,
      doorbells: Atomics.load(w, DOORBELLS) >>> 0,
      handoffs: Atomics.load(w, HANDOFFS) >>> 0,
      nativeServed: Atomics.load(w, NATIVE_SERVED) >>> 0,
      deadWorkersRecovered: Atomics.load(w, DEAD_WORKERS) >>> 0,
    };
  }

  mode(): WaitMode {
    return Atomics.load(this.words, MODE) as WaitMode;
  }

  setMode(mode: WaitMode): void {
    Atomics.store(this.words, MODE, mode);
  }

  /** True while the leader sleeps in a syscall (it needs a doorbell or a kick to look around). */
  leaderParked(): boolean {
    return Atomics.load(this.words, LEADER_PARKED) !== 0;
  }

  /** The leading worker's index, or -1. */
  leader(): number {
    return Atomics.load(this.words, LEADER) - 1;
  }

  /** Wakes every sleeping follower so it looks around (control posted, closing). */
  wakeFollowers(): void {
    Atomics.add(this.words, FOLLOWER_SEQ, 1);
    native.futexWake(this.words, FOLLOWER_SEQ, 0x7fffffff);
  }

  /** Marks the handler closing: waiters return -1 from now on. */
  close(): void {
    Atomics.store(this.words, CLOSED, 1);
  }

  /** Marks the handler closing: faults read from now on get their region's failure policy. */
  setClosing(): void {
    Atomics.store(this.words, CLOSING, 1);
  }

  closing(): boolean {
    return Atomics.load(this.words, CLOSING) !== 0;
  }

  setBusy(w: number, busy: boolean): void {
    Atomics.store(this.words, slot(w, SLOT_BUSY), busy ? 1 : 0);
  }

  busy(w: number): boolean {
    return Atomics.load(this.words, slot(w, SLOT_BUSY)) !== 0;
  }

  /** True while any of the first `workers` workers is busy. */
  anyBusy(workers: number): boolean {
    for (let w = 0; w < workers; w++) if (this.busy(w)) return true;
    return false;
  }

  /** Worker w calls a resolver for `page` (since: ms since the handler started, >= 1). */
  beginResolverCall(w: number, since: number, uffdId: number, page: number, regionId: number): void {
    const words = this.words;
    Atomics.store(words, slot(w, SLOT_UFFD), uffdId);
    Atomics.store(words, slot(w, SLOT_PAGE_LO), page % 0x1_0000_0000);
    Atomics.store(words, slot(w, SLOT_PAGE_HI), Math.floor(page / 0x1_0000_0000));
    Atomics.store(words, slot(w, SLOT_REGION), regionId);
    Atomics.store(words, slot(w, SLOT_SINCE), since); // last: the call is complete once it is set
  }

  endResolverCall(w: number): void {
    Atomics.store(this.words, slot(w, SLOT_SINCE), 0);
  }

  /** The resolver call worker w is in, or null. */
  resolverCall(w: number): ResolverCall | null {
    const words = this.words;
    const since = Atomics.load(words, slot(w, SLOT_SINCE));
    if (since === 0) return null;
    return {
      since,
      uffdId: Atomics.load(words, slot(w, SLOT_UFFD)),
      page: (Atomics.load(words, slot(w, SLOT_PAGE_HI)) >>> 0) * 0x1_0000_0000 + (Atomics.load(words, slot(w, SLOT_PAGE_LO)) >>> 0),
      regionId: Atomics.load(words, slot(w, SLOT_REGION)),
    };
  }

  /** Claims worker w's resolver call begun at `since` for the watchdog (false: it ended, or another claimed it). */
  claimResolverCall(w: number, since: number): boolean {
    return Atomics.compareExchange(this.words, slot(w, SLOT_SINCE), since, 0) === since;
  }

  /**
   * Worker w is dead: frees its slot and, if it led, the lead, and wakes the
   * followers so one takes over.
   */
  releaseDeadWorker(w: number): void {
    const words = this.words;
    Atomics.store(words, slot(w, SLOT_TID), 0);
    Atomics.store(words, slot(w, SLOT_BUSY), 0);
    Atomics.store(words, slot(w, SLOT_SINCE), 0);
    Atomics.compareExchange(words, LEADER, w + 1, 0);
    this.wakeFollowers();
  }
}
