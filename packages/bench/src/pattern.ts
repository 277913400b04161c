// The page content the C baseline serves with --page-content pattern, in JS,
// so the bench (and its tests) can verify what a toucher read: the 8-byte
// little-endian word at region offset `offset` (a multiple of 8) is
// patternWord(seed, offset). Same mixing as c_baseline.c's pattern_word.
const MASK = (1n << 64n) - 1n;

export function patternWord(seed: bigint, offset: bigint): bigint {
  let z = (seed * 0x9e3779b97f4a7c15n + offset) & MASK;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK;
  return z ^ (z >> 31n);
}

/** The toucher's checksum over a patterned region: XOR of the first word of every page. */
export function patternChecksum(seed: bigint, size: number, pageSize: number): bigint {
  let sum = 0n;
  for (let offset = 0; offset < size; offset += pageSize) sum ^= patternWord(seed, BigInt(offset));
  return sum;
}

/** The toucher's checksum over bytes laid out like the region (e.g. a file; zeros past its end). */
export function bytesChecksum(bytes: Uint8Array, size: number, pageSize: number): bigint {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let sum = 0n;
  for (let offset = 0; offset < size && offset + 8 <= bytes.byteLength; offset += pageSize) {
    sum ^= view.getBigUint64(offset, true);
  }
  return sum;
}
