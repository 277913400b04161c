// Checks every page of a region against what its resolver must have produced,
// a chunk at a time (the expected bytes are generated natively, compared with
// memcmp): nothing is sampled. Reads happen after the faulting threads are
// done, so each page is already installed (or, after close(), plain memory).
import native from '@faultline/native';

const PS = native.pageSize();
const CHUNK_PAGES = 256;
const ZERO_PAGE = Buffer.alloc(PS);

/**
 * What a region must hold: `seed` of the pattern its bytes follow (the file
 * resolver's file is that pattern too), or null for zero pages.
 */
export function expectedChunk(seed, firstPage, pages, out) {
  const bytes = out.subarray(0, pages * PS);
  if (seed === null) bytes.fill(0);
  else native.fillPattern(bytes, seed, (firstPage * PS) / 4);
  return bytes;
}

/**
 * Compares every page of `buffer` (a region's SharedArrayBuffer) with
 * pattern `seed` (null: zeros). `zeroPages(page)` says a page must be zero
 * instead (an onError 'zero' outcome the scenario expects). Returns
 * { pages, wrong: [page...], zero: [page...] } — `zero`: pages that read
 * all-zero but should have had bytes (silent zeros unless something reported
 * them) — and `checksum`: the XOR of the first 8 bytes of every expected page,
 * what the native toucher must have read.
 */
export function checkRegion(buffer, seed, { zeroPages = () => false, onPage } = {}) {
  const pages = buffer.byteLength / PS;
  const expected = Buffer.alloc(CHUNK_PAGES * PS);
  const wrong = [];
  const zero = [];
  let checksum = 0n;
  for (let first = 0; first < pages; first += CHUNK_PAGES) {
    const n = Math.min(CHUNK_PAGES, pages - first);
    const want = expectedChunk(seed, first, n, expected);
    for (let i = 0; i < n; i++) if (zeroPages(first + i)) want.fill(0, i * PS, (i + 1) * PS);
    const words = new BigUint64Array(want.buffer, want.byteOffset, (n * PS) / 8);
    for (let i = 0; i < n; i++) checksum ^= words[(i * PS) / 8];
    const got = Buffer.from(buffer, first * PS, n * PS);
    if (got.equals(want) && !onPage) continue;
    for (let i = 0; i < n; i++) {
      const page = got.subarray(i * PS, (i + 1) * PS);
      const ok = page.equals(want.subarray(i * PS, (i + 1) * PS));
      const isZero = !ok && page.equals(ZERO_PAGE);
      if (onPage) onPage(first + i, ok, ok ? page.equals(ZERO_PAGE) : isZero);
      else if (isZero) zero.push(first + i);
      else if (!ok) wrong.push(first + i);
    }
  }
  return { pages, wrong, zero, checksum };
}
