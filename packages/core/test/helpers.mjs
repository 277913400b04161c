// Shared test helpers for @faultline/core tests (not a test file itself).
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fillPattern } from '../dist/index.js';

/** Open fds of this process (/proc/self/fd), for leak checks. */
export function openFds() {
  return readdirSync('/proc/self/fd').length;
}

/** A temp dir removed by the returned cleanup. */
export function tempDir(prefix = 'faultline-test-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes `size` bytes of pattern(seed) content to `path` and returns the bytes. */
export function writePatternFile(path, size, seed) {
  const bytes = new Uint8Array(size);
  fillPattern(seed, 0, bytes);
  writeFileSync(path, bytes);
  return bytes;
}

/** Deterministic permutation of 0..n-1 (xorshift Fisher-Yates). */
export function permutation(n, seed = 12345) {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  let x = seed >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    const j = x % (i + 1);
    const t = p[i]; p[i] = p[j]; p[j] = t;
  }
  return p;
}

/** First differing index of two byte arrays, or -1. */
export function firstDifference(a, b) {
  const n = Math.min(a.length, b.length);
  if (Buffer.from(a.buffer, a.byteOffset, n).equals(Buffer.from(b.buffer, b.byteOffset, n))) {
    return a.length === b.length ? -1 : n;
  }
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

const HUGE_2M = '/sys/kernel/mm/hugepages/hugepages-2048kB';

/**
 * Reserves `count` more 2 MiB huge pages (root: nr_hugepages) for a test and
 * returns the function that gives them back. Throws (failing the test) when
 * the kernel cannot find the memory: a hugepage test must not pass unrun.
 */
export function reserveHugePages(count) {
  const read = (name) => Number(readFileSync(`${HUGE_2M}/${name}`, 'utf8'));
  const before = read('nr_hugepages');
  writeFileSync(`${HUGE_2M}/nr_hugepages`, String(before + count));
  const free = read('free_hugepages');
  if (free < count) {
    writeFileSync(`${HUGE_2M}/nr_hugepages`, String(before));
    throw new Error(`could not reserve ${count} huge pages (only ${free} free): memory too fragmented?`);
  }
  return () => writeFileSync(`${HUGE_2M}/nr_hugepages`, String(before));
}
