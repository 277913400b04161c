// Expected toucher checksums (XOR of the first 8 bytes, little-endian, of
// every page), so the bench and its tests check the content both handlers
// served, not only their speed.
import { patternWord } from '@faultline/core';

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
