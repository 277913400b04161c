/**
 * The dirty bitmap of a region tracked with synchronous write-protect faults
 * (map `trackWrites: 'sync'`): one bit per page in a SharedArrayBuffer, set
 * by whichever serve loop handles the page's WP fault, read and cleared by
 * dirtyPages() on the main thread. Both sides live here because their order
 * of steps is one argument.
 *
 *   WP fault on p (serveWriteFault):  F1 set bit p
 *                                     F2 UFFDIO_WRITEPROTECT mode 0 on p (lifts it, wakes the writer)
 *   reset (resetDirty):               C  exchange each word with 0 (read and clear at once): the answer
 *                                     P  UFFDIO_WRITEPROTECT mode WP on the pages C listed
 *
 * What must hold: a write made after a reset returned is in a later answer,
 * and a writable page has its bit set (else its next writes raise no fault
 * and are lost). Both orders of the two steps lose writes when a fault and a
 * reset interleave freely:
 *   - clear, then protect: F2 of a fault whose F1 came before C can run
 *     before P (a no-op on the still-protected page) — fine — or its F1 can
 *     come after C and F2 before P, fine too; but F1 before C and F2 after
 *     the reset leaves p writable with its bit clear: later writes are lost.
 *   - protect, then clear: F2 between P and C leaves p writable with its bit
 *     cleared by C: the same loss.
 * A re-check after F2 (set the bit again if a reset took it) closes those
 * holes but reports a page twice when the reset's P protected it after all,
 * so even quiet writes would not give exact sets.
 *
 * So the pair F1 F2 and the pair C P exclude each other, with a small
 * reader-writer gate in the SAB's first words: faults are the readers (any
 * number at once, in any worker, they never wait for each other), a reset
 * the writer. Then each pair is atomic for the other, and
 *   - after F1 F2: p is writable and its bit is set;
 *   - after C P: every page C listed is protected and its bit clear; a page
 *     C did not list had its bit clear, so it is protected (by the first
 *     point, a writable page has its bit set) — the invariant holds.
 * A write to a protected page faults, and its F1 comes before the write
 * lands: the page is in the first answer whose C follows that, never before
 * the write could have been seen and never twice. A write to a writable page
 * lands while its bit is set: the next C lists it. A write between C and P
 * (the page is writable, C listed it) is in memory before the answer is
 * returned: "in this answer or the next" holds as in the async mode, and
 * after quiet writes the answer is exactly the pages written.
 *
 * Waiting: a fault that finds a reset under way waits for it (one pass of C
 * and the P ioctls: well under a millisecond for a 64 MiB region); a reset
 * waits for the faults inside the gate (each one ioctl; one still inside
 * after a second is taken for a thread that died mid-fault, a terminated
 * worker, and counted out). Both wait in short
 * timed slices (Atomics.wait with a timeout, or a spin where a thread may
 * not block), so nothing parks indefinitely and no wake-up is needed across
 * JS and native waiters.
 */

/** Gate words ahead of the bitmap: faults inside the gate, and whether a reset holds or wants it. */
const FAULTS = 0;
const RESET = 1;
/** Int32 words before the bitmap (16 bytes). */
const HEADER_WORDS = 4;
/** How long one slice of waiting for the other side is, ms. */
const WAIT_SLICE_MS = 1;
/** Past this, a fault still inside the gate is taken for one whose thread died, ms. */
const STUCK_FAULT_MS = 1000;

/** A gate and a bitmap of `pages` bits, as a SharedArrayBuffer. */
export function createDirtyBitmap(pages: number): SharedArrayBuffer {
  return new SharedArrayBuffer((HEADER_WORDS + Math.ceil(pages / 32)) * 4);
}

/**
 * Serves the write-protect fault of page `index` (F1, F2 above) inside the
 * gate: `unprotect` is the ioctl that lifts the protection and wakes the
 * writer. Waits while a reset is under way.
 */
export function serveWriteFault(bits: Int32Array, index: number, unprotect: () => void): void {
  for (;;) {
    while (Atomics.load(bits, RESET) !== 0) Atomics.wait(bits, RESET, 1, WAIT_SLICE_MS);
    Atomics.add(bits, FAULTS, 1);
    // Seq-cst: either this load sees the reset's flag, or the reset's load of FAULTS sees us.
    if (Atomics.load(bits, RESET) === 0) break;
    if (Atomics.sub(bits, FAULTS, 1) === 1) Atomics.notify(bits, FAULTS);
  }
  try {
    Atomics.or(bits, HEADER_WORDS + (index >>> 5), 1 << (index & 31));
    unprotect();
  } finally {
    if (Atomics.sub(bits, FAULTS, 1) === 1) Atomics.notify(bits, FAULTS);
  }
}

/**
 * A reset: steps C and P above with the faults held at the gate. Returns
 * the page indexes C found set, in order; `protect(first, count)` protects
 * a run of them. `all`: protect every page, not just the listed ones
 * (region.trackWrites()). The main thread is the only caller (resets are
 * serial).
 */
export function resetDirty(bits: Int32Array, pages: number, all: boolean, protect: (first: number, count: number) => void): Uint32Array {
  Atomics.store(bits, RESET, 1);
  try {
    const deadline = Date.now() + STUCK_FAULT_MS;
    for (;;) {
      const inside = Atomics.load(bits, FAULTS);
      if (inside <= 0) break;
      if (Date.now() > deadline) {
        // A fault inside the gate this long is one ioctl whose thread is gone (a worker
        // terminated mid-fault): count it out rather than hold every reset forever.
        Atomics.store(bits, FAULTS, 0);
        break;
      }
      Atomics.wait(bits, FAULTS, inside, WAIT_SLICE_MS);
    }
    const listed = readDirty(bits, pages, true);
    try {
      if (all) protect(0, pages);
      else forEachRun(listed, protect);
    } catch (err) {
      // Not protected again: the pages stay dirty (listed by the next answer), none is lost.
      for (const p of listed) Atomics.or(bits, HEADER_WORDS + (p >>> 5), 1 << (p & 31));
      throw err;
    }
    return listed;
  } finally {
    Atomics.store(bits, RESET, 0);
    Atomics.notify(bits, RESET);
  }
}

/** Page indexes whose bit is set, in order; with `clear`, each word is read and cleared at once (step C). */
export function readDirty(bits: Int32Array, pages: number, clear: boolean): Uint32Array {
  const words = new Int32Array(bits.length - HEADER_WORDS);
  let count = 0;
  for (let w = 0; w < words.length; w++) {
    const v = clear ? Atomics.exchange(bits, HEADER_WORDS + w, 0) : Atomics.load(bits, HEADER_WORDS + w);
    words[w] = v;
    if (v !== 0) count += popcount(v);
  }
  const out = new Uint32Array(count);
  let k = 0;
  for (let w = 0; w < words.length; w++) {
    let v = words[w]!;
    while (v !== 0) {
      const low = v & -v;
      const index = w * 32 + (31 - Math.clz32(low));
      if (index < pages) out[k++] = index;
      v ^= low;
    }
  }
  return k === count ? out : out.subarray(0, k);
}

/** Calls `fn(first, count)` for each run of consecutive indexes in sorted `pages` (one ioctl per run). */
export function forEachRun(pages: Uint32Array, fn: (first: number, count: number) => void): void {
  let i = 0;
  while (i < pages.length) {
    const first = pages[i]!;
    let j = i + 1;
    while (j < pages.length && pages[j] === first + (j - i)) j++;
    fn(first, j - i);
    i = j;
  }
}

function popcount(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
