// The restore bench's working set: which pages a restored process touches
// first, and in what order. Fixed by a seed, so every variant of every round
// and every run touches the very same pages in the very same order (and the
// trace recorded in one round is the one the next variant prefetches).
// Pseudo-random on purpose: no locality for a readahead to guess, so what
// prefetching gains is what the recorded trace knows.

/** mulberry32: a small 32-bit generator; uniform enough for a shuffle. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** How many pages a `fraction` of `totalPages` is (at least one). */
export function workingSetSize(totalPages: number, fraction: number): number {
  return Math.max(1, Math.round(totalPages * fraction));
}

/**
 * round(fraction * totalPages) distinct page indexes in [0, totalPages), in a
 * pseudo-random touch order fixed by `seed`: the first k entries of a seeded
 * Fisher-Yates shuffle of every page.
 */
export function workingSet(totalPages: number, fraction: number, seed: number): Uint32Array {
  if (!Number.isInteger(totalPages) || totalPages < 1 || totalPages > 0xffffffff) {
    throw new RangeError(`workingSet: totalPages must be an integer from 1 to 2^32-1, got ${totalPages}`);
  }
  if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`workingSet: fraction must be in (0, 1], got ${fraction}`);
  const k = workingSetSize(totalPages, fraction);
  const pages = new Uint32Array(totalPages);
  for (let i = 0; i < totalPages; i++) pages[i] = i;
  const next = generator(seed);
  for (let i = 0; i < k; i++) {
    // Modulo bias is at most (totalPages - i) / 2^32: negligible for a bench's order.
    const j = i + (next() % (totalPages - i));
    const t = pages[i]!;
    pages[i] = pages[j]!;
    pages[j] = t;
  }
  return pages.slice(0, k);
}

/** The working set as the child reads it (--working-set FILE): little-endian uint32 page indexes. */
export function workingSetBytes(pages: Uint32Array): Buffer {
  const out = Buffer.alloc(pages.length * 4);
  for (let i = 0; i < pages.length; i++) out.writeUInt32LE(pages[i]!, i * 4);
  return out;
}
