// The JS main thread as the faulting thread: what a user does when reading a
// lazily-filled region through region.buffer. Same page order and same
// checksum definition as the native toucher (touch_core.h), so its results sit
// next to the native ones.
import { percentileSorted } from './stats.js';

const MASK64 = (1n << 64n) - 1n;

/** The native toucher's permutation (splitmix64 + Fisher-Yates over 0..n-1), bit for bit. */
export function pagePermutation(n: number, seed: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let state = BigInt(seed) & MASK64;
  for (let i = n - 1; i > 0; i--) {
    state = (state + 0x9e3779b97f4a7c15n) & MASK64;
    let z = state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
    z ^= z >> 31n;
    const j = Number(z % BigInt(i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

export interface JsTouchResult {
  elapsedNs: number;
  pages: number;
  p50Ns: number;
  p99Ns: number;
  checksum: bigint;
}

/** Reads the first 8 bytes of every page of `buffer` once, timing each first read. */
export function touchFromJs(buffer: SharedArrayBuffer, pageSize: number, order: 'sequential' | 'random', seed: number): JsTouchResult {
  const words = new Uint32Array(buffer);
  const pages = buffer.byteLength / pageSize;
  const wordsPerPage = pageSize / 4;
  const perm = order === 'random' ? pagePermutation(pages, seed) : null;
  const latencies = new Float64Array(pages);
  let lo = 0;
  let hi = 0;
  const start = performance.now();
  for (let k = 0; k < pages; k++) {
    const at = (perm === null ? k : perm[k]!) * wordsPerPage;
    const t0 = performance.now();
    lo ^= words[at]!; // the fault happens here
    latencies[k] = performance.now() - t0;
    hi ^= words[at + 1]!;
  }
  const elapsedMs = performance.now() - start;
  latencies.sort();
  return {
    elapsedNs: Math.round(elapsedMs * 1e6),
    pages,
    p50Ns: Math.round(percentileSorted(latencies, 50) * 1e6),
    p99Ns: Math.round(percentileSorted(latencies, 99) * 1e6),
    checksum: BigInt(lo >>> 0) | (BigInt(hi >>> 0) << 32n),
  };
}
