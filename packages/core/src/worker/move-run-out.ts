/**
 * Moving one eviction run out of the region into empty staging slots, and
 * knowing which pages really went: the JS evictor's side of the native
 * evictor's MoveRunOut (packages/native/src/evict/move_out.h says why).
 *
 * In short: Linux 6.18's UFFDIO_MOVE can move a page and answer EEXIST with
 * nothing counted, while the workload writes the region. An evictor that believed
 * the answer never wrote that page back and dropped it with the staging
 * buffer: a lost write. So the answers are trusted only when every call moved
 * all it was asked; otherwise the slots' page table says which pages moved (the
 * slots are empty before the run and only this run fills them).
 */

/** One UFFDIO_MOVE: the bytes moved, or -errno (refused at the first page). */
export type MoveFn = (dst: number, src: number, length: number) => number;
/** PAGEMAP_SCAN for present pages of [start, end): [start, end) address pairs. */
export type PresentFn = (start: number, end: number) => Float64Array;

/**
 * Moves pages [src, src + n pages) into the empty slots [dst, dst + n pages);
 * sets moved[k] = 1 for each page now in its slot (moved.length >= n, cleared
 * here) and returns how many moved.
 */
export function moveRunOut(move: MoveFn, present: PresentFn, dst: number, src: number, n: number, ps: number, moved: Uint8Array): number {
  moved.fill(0, 0, n);
  let count = 0;
  let shortAnswer = false;
  for (let k = 0; k < n; ) {
    const res = move(dst + k * ps, src + k * ps, (n - k) * ps);
    if (res <= 0) {
      // A hole, a page that cannot move (the shared zero page), or a page moved but reported refused.
      shortAnswer = true;
      k++;
      continue;
    }
    const done = res / ps;
    moved.fill(1, k, k + done);
    count += done;
    k += done;
    if (k < n) shortAnswer = true; // a partial move: its count may be short too
  }
  if (!shortAnswer) return count;
  moved.fill(0, 0, n);
  count = 0;
  const ranges = present(dst, dst + n * ps);
  for (let i = 0; i < ranges.length; i += 2) {
    const first = (ranges[i]! - dst) / ps;
    const end = (ranges[i + 1]! - dst) / ps;
    moved.fill(1, first, end);
    count += end - first;
  }
  return count;
}
