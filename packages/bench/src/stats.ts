// Small order statistics for the bench: medians across rounds, percentiles of
// latency samples, ratios that know when there is nothing to compare.

/** Median of `values` (mean of the two middle values for an even count). NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile (`pct` in 0..100) of ascending `sorted` values; 0 when empty. */
export function percentileSorted(sorted: ArrayLike<number>, pct: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil((sorted.length * pct) / 100));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** a / b, or null when either side is missing or b is not positive. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b) || b <= 0) return null;
  return a / b;
}

/** Events per second from a count and a duration in nanoseconds. */
export function perSecond(count: number, elapsedNs: number): number {
  return elapsedNs > 0 ? (count * 1e9) / elapsedNs : 0;
}
