// The SharedArrayBuffer fault ring (docs/ring.md): bounded, lock-free,
// multi-producer/multi-consumer, whole messages only, never drops. This is the
// TypeScript half; packages/native/src/ring.h is the C++ half over the same bytes.
import native from '@faultline/native';

import {
  HEADER_BYTES,
  KIND_CONT,
  MAX_CAPACITY,
  MAX_MESSAGE_RECORDS,
  MIN_CAPACITY,
  RECORD_WORDS,
  RING_MAGIC,
  RING_VERSION,
  SEQ_BASE,
  W_CAPACITY,
  W_CLOSED,
  W_DEQUEUE,
  W_ENQUEUE,
  W_EVENTS_APPLIED,
  W_MAGIC,
  W_PARKED,
  W_POLLERS,
  W_STALLS,
  W_VERSION,
  W_WAKEUPS,
  W_WAKE_SEQ,
  recordsOffset,
} from './layout.js';
import { wordCont, wordKind } from './message.js';

export interface RingStats {
  /** Blocking pushes that found the ring full and had to wait. */
  stalls: number;
  /** Futex wake calls issued by producers and close(). */
  wakeups: number;
  /** Records ever enqueued (mod 2^32). */
  enqueued: number;
  /** Records ever dequeued (mod 2^32). */
  dequeued: number;
}

export type WaitResult = 'ready' | 'timeout' | 'closed';

function ringError(code: string, message: string): Error & { code: string } {
  const err = new Error(message) as Error & { code: string };
  err.code = code;
  return err;
}

function checkCapacity(capacity: number): void {
  if (!Number.isInteger(capacity) || capacity < MIN_CAPACITY || capacity > MAX_CAPACITY || (capacity & (capacity - 1)) !== 0) {
    throw new RangeError(`ring capacity must be a power of two in ${MIN_CAPACITY}..${MAX_CAPACITY}, got ${capacity}`);
  }
}

export class FaultRing {
  readonly sab: SharedArrayBuffer;
  readonly i32: Int32Array;
  readonly capacity: number;
  private readonly mask: number;
  /** Word index of record 0 in i32. */
  private readonly recBase: number;

  private constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.i32 = new Int32Array(sab);
    this.capacity = this.i32[W_CAPACITY]!;
    this.mask = this.capacity - 1;
    this.recBase = recordsOffset(this.capacity) / 4;
  }

  /** Bytes needed for a ring of `capacity` records. */
  static byteLength(capacity: number): number {
    checkCapacity(capacity);
    return recordsOffset(capacity) + 16 * capacity;
  }

  /** Allocates and initialises a ring of `capacity` records. */
  static create(capacity: number): FaultRing {
    const sab = new SharedArrayBuffer(FaultRing.byteLength(capacity));
    const i32 = new Int32Array(sab);
    for (let i = 0; i < capacity; i++) i32[SEQ_BASE + i] = i;
    i32[W_CAPACITY] = capacity;
    i32[W_VERSION] = RING_VERSION;
    // Magic last: a buffer is valid only once everything else is in place.
    Atomics.store(i32, W_MAGIC, RING_MAGIC);
    return new FaultRing(sab);
  }

  /** Views an existing ring (e.g. one posted to this worker). Validates its header. */
  static attach(sab: SharedArrayBuffer): FaultRing {
    if (!(sab instanceof SharedArrayBuffer)) {
      throw ringError('ERR_FAULTLINE_RING_INVALID', 'FaultRing.attach needs the SharedArrayBuffer of a ring made by FaultRing.create');
    }
    if (sab.byteLength < HEADER_BYTES) {
      throw ringError('ERR_FAULTLINE_RING_INVALID', `not a fault ring: ${sab.byteLength} bytes is smaller than the ${HEADER_BYTES}-byte header`);
    }
    const i32 = new Int32Array(sab, 0, HEADER_BYTES / 4);
    const magic = Atomics.load(i32, W_MAGIC);
    if (magic !== RING_MAGIC) {
      throw ringError('ERR_FAULTLINE_RING_INVALID', `not a fault ring: magic is 0x${(magic >>> 0).toString(16)}, expected 0x${RING_MAGIC.toString(16)}`);
    }
    const version = i32[W_VERSION]!;
    if (version !== RING_VERSION) {
      throw ringError('ERR_FAULTLINE_RING_INVALID', `fault ring version ${version} is not supported (this build speaks version ${RING_VERSION}); use matching @faultline/core and @faultline/native`);
    }
    const capacity = i32[W_CAPACITY]!;
    try {
      checkCapacity(capacity);
    } catch {
      throw ringError('ERR_FAULTLINE_RING_INVALID', `fault ring header is corrupt: capacity ${capacity} is not a power of two in ${MIN_CAPACITY}..${MAX_CAPACITY}`);
    }
    if (sab.byteLength < FaultRing.byteLength(capacity)) {
      throw ringError('ERR_FAULTLINE_RING_INVALID', `fault ring is truncated: ${sab.byteLength} bytes, capacity ${capacity} needs ${FaultRing.byteLength(capacity)}`);
    }
    return new FaultRing(sab);
  }

  /**
   * Pushes `records` records of `words` (one whole message, or several whole
   * messages), all or nothing. Returns false when the ring has no room for
   * them. Throws ERR_FAULTLINE_RING_CLOSED once the ring is closed.
   */
  tryPush(words: Uint32Array | number[], records: number): boolean {
    const i32 = this.i32;
    if (!Number.isInteger(records) || records < 1 || records > this.capacity || words.length < records * RECORD_WORDS) {
      throw new RangeError(`tryPush: records must be 1..${this.capacity} and words must hold 4 words per record (got ${records} records, ${words.length} words)`);
    }
    checkWholeMessages(words, records);
    if (Atomics.load(i32, W_CLOSED) !== 0) {
      throw ringError('ERR_FAULTLINE_RING_CLOSED', 'the fault ring is closed: no more records can be pushed');
    }
    let pos: number;
    claim: for (;;) {
      pos = Atomics.load(i32, W_ENQUEUE);
      for (let i = 0; i < records; i++) {
        const p = (pos + i) | 0;
        const d = (Atomics.load(i32, SEQ_BASE + (p & this.mask)) - p) | 0;
        if (d < 0) return false; // a consumer still holds this slot from the previous lap: full
        if (d > 0) continue claim; // another producer claimed pos: reload
      }
      if (Atomics.compareExchange(i32, W_ENQUEUE, pos, (pos + records) | 0) === pos) break;
    }
    for (let i = 0; i < records; i++) {
      const o = this.recBase + (((pos + i) & this.mask) * RECORD_WORDS);
      const s = i * RECORD_WORDS;
      i32[o] = words[s]!;
      i32[o + 1] = words[s + 1]!;
      i32[o + 2] = words[s + 2]!;
      i32[o + 3] = words[s + 3]!;
    }
    // Publish tail first, head last: a consumer that sees the head sees the whole message.
    for (let i = records - 1; i >= 0; i--) {
      const p = (pos + i) | 0;
      Atomics.store(i32, SEQ_BASE + (p & this.mask), (p + 1) | 0);
    }
    this.wakeConsumers(records);
    return true;
  }

  /**
   * Claims whole messages, up to `maxRecords` records, copying 4 words per
   * record into `out`. Returns the number of records taken (0 when empty).
   */
  take(out: Uint32Array, maxRecords: number): number {
    const i32 = this.i32;
    const mask = this.mask;
    const max = Math.min(maxRecords, Math.floor(out.length / RECORD_WORDS));
    for (;;) {
      const pos = Atomics.load(i32, W_DEQUEUE);
      let total = 0;
      let stale = false;
      scan: while (total < max) {
        const p = (pos + total) | 0;
        const d = (Atomics.load(i32, SEQ_BASE + (p & mask)) - ((p + 1) | 0)) | 0;
        if (d < 0) break; // nothing published at p
        if (d > 0) {
          stale = true;
          break;
        }
        const w0 = i32[this.recBase + (p & mask) * RECORD_WORDS]!;
        const n = 1 + wordCont(w0);
        if (total + n > max) {
          if (total === 0) {
            throw new RangeError(`take: the next message has ${n} records but maxRecords/out allow ${max}; give take room for ${MAX_MESSAGE_RECORDS} records`);
          }
          break;
        }
        for (let i = 1; i < n; i++) {
          const q = (p + i) | 0;
          if (Atomics.load(i32, SEQ_BASE + (q & mask)) !== ((q + 1) | 0)) {
            stale = true; // the head we read belongs to a lap another consumer already took
            break scan;
          }
          const c = i32[this.recBase + (q & mask) * RECORD_WORDS]!;
          if (wordKind(c) !== KIND_CONT || wordCont(c) !== i) {
            if (Atomics.load(i32, W_DEQUEUE) !== pos) {
              stale = true;
              break scan;
            }
            throw ringError('ERR_FAULTLINE_RING_CORRUPT', `fault ring is corrupt: record at position ${q >>> 0} should be continuation ${i} of the message at ${p >>> 0}`);
          }
        }
        total += n;
      }
      if (total === 0) {
        if (stale) continue;
        return 0;
      }
      if (Atomics.compareExchange(i32, W_DEQUEUE, pos, (pos + total) | 0) !== pos) continue;
      for (let i = 0; i < total; i++) {
        const p = (pos + i) | 0;
        const o = this.recBase + (p & mask) * RECORD_WORDS;
        const s = i * RECORD_WORDS;
        out[s] = i32[o]!;
        out[s + 1] = i32[o + 1]!;
        out[s + 2] = i32[o + 2]!;
        out[s + 3] = i32[o + 3]!;
      }
      for (let i = 0; i < total; i++) {
        const p = (pos + i) | 0;
        Atomics.store(i32, SEQ_BASE + (p & mask), (p + this.capacity) | 0);
      }
      return total;
    }
  }

  /** True when no published message waits at the dequeue position. */
  isEmpty(): boolean {
    const pos = Atomics.load(this.i32, W_DEQUEUE);
    return Atomics.load(this.i32, SEQ_BASE + (pos & this.mask)) !== ((pos + 1) | 0);
  }

  get closed(): boolean {
    return Atomics.load(this.i32, W_CLOSED) !== 0;
  }

  /**
   * Waits until a message is published ('ready'), the ring is closed and
   * drained ('closed'), or `timeoutMs` passes ('timeout'; Infinity: never).
   * Checks `spins` times first, then parks on the futex word (docs/ring.md §5).
   * Parking blocks the thread: call it from workers.
   */
  waitForWork(spins: number, timeoutMs: number): WaitResult {
    for (let i = 0; i < spins; i++) {
      if (!this.isEmpty()) return 'ready';
      if (this.closed) return 'closed';
    }
    const i32 = this.i32;
    const deadline = timeoutMs === Infinity ? Infinity : performance.now() + timeoutMs;
    for (;;) {
      Atomics.add(i32, W_PARKED, 1);
      try {
        const w = Atomics.load(i32, W_WAKE_SEQ);
        // Re-check after announcing ourselves: a producer that published before
        // it could see `parked` is caught here (docs/ring.md §5).
        if (!this.isEmpty()) return 'ready';
        if (this.closed) return 'closed';
        const left = deadline - performance.now();
        if (left <= 0) return 'timeout';
        native.futexWait(i32, W_WAKE_SEQ, w, left);
      } finally {
        Atomics.sub(i32, W_PARKED, 1);
      }
    }
  }

  /** Closes the ring: producers refuse from now on, parked consumers wake and drain. */
  close(): void {
    const i32 = this.i32;
    Atomics.store(i32, W_CLOSED, 1);
    Atomics.add(i32, W_WAKE_SEQ, 1);
    native.futexWake(i32, W_WAKE_SEQ, 0x7fffffff);
    Atomics.add(i32, W_WAKEUPS, 1);
  }

  /**
   * Wakes every consumer parked on the futex so it looks around (a control
   * message arrived, or the handler is stopping). Spurious for consumers that
   * find nothing: they park again.
   */
  wakeAll(): void {
    const i32 = this.i32;
    Atomics.add(i32, W_WAKE_SEQ, 1);
    native.futexWake(i32, W_WAKE_SEQ, 0x7fffffff);
  }

  /**
   * A consumer is about to park outside the futex (the handler's direct poll
   * set, docs/ring.md §9). Announce first, then re-check the ring: a producer
   * that published before it could see the announcement did not kick.
   */
  enterPollers(): void {
    Atomics.add(this.i32, W_POLLERS, 1);
  }

  leavePollers(): void {
    Atomics.sub(this.i32, W_POLLERS, 1);
  }

  /** A consumer applied an event message: releases the reader's event barrier (§8). */
  markEventApplied(): void {
    Atomics.add(this.i32, W_EVENTS_APPLIED, 1);
  }

  stats(): RingStats {
    const i32 = this.i32;
    return {
      stalls: Atomics.load(i32, W_STALLS),
      wakeups: Atomics.load(i32, W_WAKEUPS),
      enqueued: Atomics.load(i32, W_ENQUEUE) >>> 0,
      dequeued: Atomics.load(i32, W_DEQUEUE) >>> 0,
    };
  }

  /** After publishing `records` records: wake up to that many parked consumers. */
  private wakeConsumers(records: number): void {
    const i32 = this.i32;
    const parked = Atomics.load(i32, W_PARKED);
    if (parked <= 0) return;
    Atomics.add(i32, W_WAKE_SEQ, 1);
    native.futexWake(i32, W_WAKE_SEQ, Math.min(parked, records));
    Atomics.add(i32, W_WAKEUPS, 1);
  }
}

/** Throws unless `records` records of `words` are whole messages (a split CONT would corrupt consumers). */
function checkWholeMessages(words: Uint32Array | number[], records: number): void {
  let i = 0;
  while (i < records) {
    const w0 = words[i * RECORD_WORDS]! >>> 0;
    if (wordKind(w0) === KIND_CONT) throw new RangeError(`tryPush: record ${i} is a CONT record where a message head is expected`);
    const n = 1 + wordCont(w0);
    for (let k = 1; k < n && i + k < records; k++) {
      const c = words[(i + k) * RECORD_WORDS]! >>> 0;
      if (wordKind(c) !== KIND_CONT || wordCont(c) !== k) {
        throw new RangeError(`tryPush: record ${i + k} should be continuation ${k} of the message at record ${i}`);
      }
    }
    i += n;
  }
  if (i !== records) throw new RangeError(`tryPush: the last message needs ${i - records} more record(s) than the ${records} given`);
}
