/**
 * One job: cut a prefetch plan into spans for a resolver that prefers few
 * large requests (PageResolver.bulk), e.g. HTTP Range GETs, where every
 * request costs a round trip and a fixed CPU overhead on both ends.
 *
 * A plan lists pages in first-touch order, which for a restored process is
 * scattered over the whole memory image: walked in that order, runs of
 * consecutive pages are mostly one page long, so each page would cost a
 * request. Here the plan's pages are sorted by address and grouped into
 * spans: two neighbouring pages share a span when at most `gapPages` pages
 * lie between them (those are fetched along but not installed) and the span
 * stays within `maxPages`. Spans are then ordered by the plan position of
 * their earliest page, so what the process touches first still comes first.
 */

export interface Span {
  /** Region page index of the span's first page (always a plan page). */
  first: number;
  /** Pages the span covers, gaps included. */
  n: number;
  /** The plan's pages in the span, as offsets from `first`, ascending. */
  wanted: Uint32Array;
  /** Plan position of the span's earliest-needed page. */
  need: number;
}

export interface SpanPlan {
  spans: Span[];
  /** Plan entries that repeat an earlier one (installed once, counted already present). */
  duplicates: number;
}

export function spansOf(plan: ArrayLike<number>, gapPages: number, maxPages: number): SpanPlan {
  if (!(maxPages >= 1)) throw new RangeError(`spansOf: maxPages must be at least 1, got ${maxPages}`);
  // First plan position of every distinct page.
  const need = new Map<number, number>();
  let duplicates = 0;
  for (let i = 0; i < plan.length; i++) {
    const p = plan[i]!;
    if (need.has(p)) duplicates++;
    else need.set(p, i);
  }
  const sorted = Uint32Array.from(need.keys()).sort();
  const spans: Span[] = [];
  for (let i = 0; i < sorted.length; ) {
    const first = sorted[i]!;
    let j = i + 1;
    let earliest = need.get(first)!;
    while (j < sorted.length) {
      const p = sorted[j]!;
      if (p - sorted[j - 1]! - 1 > gapPages || p - first + 1 > maxPages) break;
      earliest = Math.min(earliest, need.get(p)!);
      j++;
    }
    const wanted = new Uint32Array(j - i);
    for (let k = i; k < j; k++) wanted[k - i] = sorted[k]! - first;
    spans.push({ first, n: sorted[j - 1]! - first + 1, wanted, need: earliest });
    i = j;
  }
  spans.sort((a, b) => a.need - b.need);
  return { spans, duplicates };
}
