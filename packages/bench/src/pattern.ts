// Expected toucher checksums (XOR of the first 8 bytes, little-endian, of
// every page), so the bench and its tests check the content both handlers
// served, not only their speed.

// TODO(merge main): import patternWord from '@faultline/core' instead; this
// mirrors packages/core/src/resolvers/pattern-bytes.ts until that lands.
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
function patternWord(seed: number, index: number): number {
  const lo = index >>> 0;
  const hi = Math.floor(index / 0x100000000);
  return fmix32(Math.imul(lo, 0x9e3779b1) ^ fmix32(hi ^ Math.imul(seed | 0, 0x27d4eb2f) ^ 0x165667b1));
}

/** Checksum of a region served by the `pattern` resolver (or the baseline's pattern) with `seed`. */
export function patternChecksum(seed: number, size: number, pageSize: number): bigint {
  let sum = 0n;
  for (let offset = 0; offset < size; offset += pageSize) {
    const w = offset / 4;
    sum ^= BigInt(patternWord(seed, w)) | (BigInt(patternWord(seed, w + 1)) << 32n);
  }
  return sum;
}

/** Checksum of a region laid out like `bytes` (e.g. a file), zeros past its end. */
export function bytesChecksum(bytes: Uint8Array, size: number, pageSize: number): bigint {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let sum = 0n;
  for (let offset = 0; offset < size && offset + 8 <= bytes.byteLength; offset += pageSize) {
    sum ^= view.getBigUint64(offset, true);
  }
  return sum;
}
