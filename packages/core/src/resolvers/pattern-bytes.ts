/**
 * The deterministic content of the `pattern` resolver, as plain functions so
 * tests and benchmarks can compute what a byte must be without a resolver.
 *
 * Every aligned 32-bit little-endian word at byte offset 4w holds
 * patternWord(seed, w), a murmur3-style finaliser of (seed, w): cheap, and
 * every page of every region differs.
 */

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Word `index` (byte offset 4*index) of the pattern with `seed`. */
export function patternWord(seed: number, index: number): number {
  const lo = index >>> 0;
  const hi = Math.floor(index / 0x100000000);
  return fmix32(Math.imul(lo, 0x9e3779b1) ^ fmix32(hi ^ Math.imul(seed | 0, 0x27d4eb2f) ^ 0x165667b1));
}

/** Byte at `offset` of the pattern with `seed`. */
export function patternByte(seed: number, offset: number): number {
  return (patternWord(seed, Math.floor(offset / 4)) >>> ((offset % 4) * 8)) & 0xff;
}

/** Fills `out` with the pattern bytes of [offset, offset + out.length); offset must be 4-aligned. */
export function fillPattern(seed: number, offset: number, out: Uint8Array): void {
  const words = new Uint32Array(out.buffer, out.byteOffset, out.length >>> 2);
  const first = offset / 4;
  for (let i = 0; i < words.length; i++) words[i] = patternWord(seed, first + i);
}
