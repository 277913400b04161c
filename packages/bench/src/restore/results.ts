// What the restore group measures: per variant, the time the restored child
// took to touch its whole working set (medians over rounds), what it cost in
// CPU, and how much faster one variant was than another. Separate from the
// fault scenarios' shapes: a restore is judged by time to a working set, and
// its variants are not "Faultline and its C references" but ways to restore.
import { median, ratio } from '../stats.js';
import { spread, type Spread } from '../repeat.js';
import type { RoundSample } from '../results.js';

/** One round of one variant: what the child measured, and what a prefetch installed ahead of the faults. */
export interface RestoreSample extends RoundSample {
  /** Pages the prefetch installed (prefetched().installed); null without a prefetch. */
  prefetched: number | null;
  /** Requests the page source answered during the round (restore-http: counted by the server); null for a local file. */
  requests: number | null;
}

export interface RestoreVariantResult {
  name: string;
  description: string;
  /** Median time to touch the whole working set, ms. */
  ms: number;
  /** Each round's time, ms, in the order run. */
  roundsMs: number[];
  /** Median page-fault messages the handler got (with a prefetch: the touches that came before it). */
  faults: number | null;
  /** Median pages the prefetch installed before a fault asked for them; null without a prefetch. */
  prefetched: number | null;
  /** Median requests to the page source (restore-http); null for a local file. */
  requests: number | null;
  /** Per-touch latency percentiles (the child's clock), medians over rounds. */
  p50Ns: number | null;
  p99Ns: number | null;
  /** User + system CPU of the child and the handling process per working-set page, ns. */
  cpuNsPerPage: number | null;
}

export interface RestoreComparisonSpec {
  /** The variant expected to be faster... */
  variant: string;
  /** ...than this one... */
  versus: string;
  /** ...by at least this factor (none: reported only). */
  minSpeedup?: number;
}

export interface RestoreComparison extends Required<Pick<RestoreComparisonSpec, 'variant' | 'versus'>> {
  /** versus.ms / variant.ms: how many times faster `variant` touched the working set. */
  speedup: number | null;
  minSpeedup: number | null;
  /** null when there is no target. */
  met: boolean | null;
}

export interface RestoreResult {
  name: string;
  group: string;
  description: string;
  regionBytes: number;
  /** Pages (of the system page size) of the region, and of its working set. */
  totalPages: number;
  workingSetPages: number;
  /** Why this scenario did not run (e.g. no huge pages could be reserved); null when it ran. */
  skipped: string | null;
  variants: RestoreVariantResult[];
  comparisons: RestoreComparison[];
}

function medianOrNull(values: (number | null)[]): number | null {
  const present = values.filter((v): v is number => v !== null);
  return present.length === 0 ? null : median(present);
}

export function summariseVariant(name: string, description: string, samples: readonly RestoreSample[]): RestoreVariantResult {
  const roundsMs = samples.map((s) => s.elapsedNs / 1e6);
  return {
    name,
    description,
    ms: median(roundsMs),
    roundsMs,
    faults: medianOrNull(samples.map((s) => s.faults)),
    prefetched: medianOrNull(samples.map((s) => s.prefetched ?? null)),
    requests: medianOrNull(samples.map((s) => s.requests ?? null)),
    p50Ns: medianOrNull(samples.map((s) => s.p50Ns)),
    p99Ns: medianOrNull(samples.map((s) => s.p99Ns)),
    cpuNsPerPage: medianOrNull(samples.map((s) => (s.cpuNs === null || s.pages === 0 ? null : s.cpuNs / s.pages))),
  };
}

/** Speed-ups between the variants that ran (none with --baseline-only, which runs only the C one). */
export function compareVariants(variants: readonly RestoreVariantResult[], specs: readonly RestoreComparisonSpec[]): RestoreComparison[] {
  return specs.flatMap((spec) => {
    const fast = variants.find((v) => v.name === spec.variant);
    const slow = variants.find((v) => v.name === spec.versus);
    if (fast === undefined || slow === undefined) return [];
    const speedup = ratio(slow.ms, fast.ms);
    const minSpeedup = spec.minSpeedup ?? null;
    return [{
      variant: spec.variant,
      versus: spec.versus,
      speedup,
      minSpeedup,
      met: minSpeedup === null ? null : speedup !== null && speedup >= minSpeedup,
    }];
  });
}

/** --repeat: per restore scenario, each variant's time and each speed-up across runs. */
export interface RestoreSpread {
  name: string;
  group: string;
  /** Runs in which it was skipped, with why. */
  skipped: string[];
  variants: { name: string; ms: Spread | null; cpuNsPerPage: Spread | null; requests: Spread | null }[];
  comparisons: { variant: string; versus: string; speedup: Spread | null; minSpeedup: number | null; met: number; runs: number }[];
}

export function summariseRestoreRuns(runs: readonly (readonly RestoreResult[])[]): RestoreSpread[] {
  const first = runs[0] ?? [];
  return first.map((r) => {
    const each = runs.map((run) => run.find((x) => x.name === r.name)).filter((x): x is RestoreResult => x !== undefined);
    const ran = each.filter((x) => x.skipped === null);
    const names = [...new Set(ran.flatMap((x) => x.variants.map((v) => v.name)))];
    const specs = ran[0]?.comparisons ?? r.comparisons;
    return {
      name: r.name,
      group: r.group,
      skipped: each.flatMap((x) => (x.skipped === null ? [] : [x.skipped])),
      variants: names.map((name) => {
        const v = ran.map((x) => x.variants.find((y) => y.name === name));
        return {
          name,
          ms: spread(v.map((y) => y?.ms)),
          cpuNsPerPage: spread(v.map((y) => y?.cpuNsPerPage)),
          requests: spread(v.map((y) => y?.requests)),
        };
      }),
      comparisons: specs.map((c) => {
        const same = ran.map((x) => x.comparisons.find((y) => y.variant === c.variant && y.versus === c.versus));
        return {
          variant: c.variant,
          versus: c.versus,
          speedup: spread(same.map((y) => y?.speedup)),
          minSpeedup: c.minSpeedup,
          met: same.filter((y) => y?.met === true).length,
          runs: ran.length,
        };
      }),
    };
  });
}
