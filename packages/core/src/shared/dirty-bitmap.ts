/**
 * The dirty bitmap of a region tracked with synchronous write-protect faults
 * (map `trackWrites: 'sync'`): one bit per page in a SharedArrayBuffer, set
 * by whichever serve loop handles the page's WP fault, read and cleared by
 * dirtyPages() on the main thread. Both sides live here because their order
 * of steps is one argument.
 *
 * The two sides (p is one page):
 *
 *   WP fault on p (serveWriteFault):   S1 set bit p
 *                                      S2 UFFDIO_WRITEPROTECT mode 0 on p (lifts it, wakes the writer)
 *                                      S3 if bit p is clear now, set it again
 *   reset (takeDirty + protect):       C  exchange each word with 0 (read and clear at once); p reported
 *                                      P  UFFDIO_WRITEPROTECT mode WP on the reported pages
 *
 * What must hold: a write made after a reset returned is in a later answer,
 * and once everything is quiet a writable page has its bit set (else its
 * next writes would raise no fault and be lost).
 *
 * - Quiet state: if p is writable, the last change to its protection was
 *   some S2 (a later P would have protected it). That server's S3 ran after
 *   S2 and left the bit set; a C after S3 belongs to a reset whose P follows
 *   it, so after S2 — impossible, S2 was last. Other steps only set bits.
 * - A write W to p after a reset returned: if p is protected, W faults and
 *   S1 sets the bit before W can land; if p is writable, a server's S2 made
 *   it so and its S1 set the bit, its S3 sets it again if a C took it
 *   meanwhile. Either way the bit is set at W or set again after it, and the
 *   only thing that clears a bit is a C, which reports the page: the reset
 *   that clears it says p. A reset whose C runs between S1 and S2 reports p
 *   before W lands, but then S3 finds the bit clear and sets it: W is in the
 *   next answer as well.
 * - A write landing between C and P of a reset: p was reported by that very
 *   reset (C read its bit), and its bytes are in memory before the answer is
 *   returned, so "in this answer or the next" holds as in the async mode.
 *
 * Why not the other orders: clear-after-protect (P then C) loses the write
 * whose S2 ran between P and C (writable, bit cleared, no more faults); a
 * server without S3 loses the write whose S1 ran before a C and whose S2
 * after it. The cost of S3 is one atomic load; its only side effect is a
 * page reported twice (S3 re-sets a bit a C took while its P then protects
 * the page: the next answer lists p though nobody wrote it again), which
 * the async mode can do too.
 *
 * Resets are serial (dirtyPages() and trackWrites() run on the main thread),
 * servers run in any worker, any number at once: no step waits for another,
 * so a WP fault never waits for a reset.
 */

/** A bitmap of `pages` bits, as SharedArrayBuffer (whole 32-bit words). */
export function createDirtyBitmap(pages: number): SharedArrayBuffer {
  return new SharedArrayBuffer(Math.ceil(pages / 32) * 4);
}

/**
 * Serves the write-protect fault of page `index` (S1, S2, S3 above):
 * `unprotect` is the ioctl that lifts the protection and wakes the writer.
 */
export function serveWriteFault(bits: Int32Array, index: number, unprotect: () => void): void {
  const word = index >>> 5;
  const bit = 1 << (index & 31);
  Atomics.or(bits, word, bit);
  unprotect();
  if ((Atomics.load(bits, word) & bit) === 0) Atomics.or(bits, word, bit);
}

/** Page indexes whose bit is set, in order; with `clear`, each word is read and cleared at once (step C). */
export function readDirty(bits: Int32Array, pages: number, clear: boolean): Uint32Array {
  const words = new Int32Array(bits.length);
  let count = 0;
  for (let w = 0; w < bits.length; w++) {
    const v = clear ? Atomics.exchange(bits, w, 0) : Atomics.load(bits, w);
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
