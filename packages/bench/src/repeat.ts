// --repeat K: the whole selected set run K times, each run kept as measured,
// and per scenario how its figures spread across runs (median, min..max).
// One run's ratio can swing with the machine's state (docs/performance.md);
// the spread shows how far.
import { median } from './stats.js';
import type { OocResult, OocSpread } from './ooc/results.js';
import type { RestoreResult, RestoreSpread } from './restore/results.js';
import type { WritesResult } from './scenarios/writes.js';
import { REFERENCES, type Environment, type ReferenceName, type ScenarioResult } from './results.js';

/** One run of the selected set, as measured. */
export interface BenchRun {
  /** 1-based. */
  run: number;
  wakeProbe: Environment['wakeProbe'];
  scenarios: ScenarioResult[];
  /** The restore group's results (absent in reports written before it existed). */
  restore?: RestoreResult[];
  /** The out-of-core group's results (absent in reports written before it existed). */
  ooc?: OocResult[];
  /** The writes group's results (each run's own; not summarised across runs). */
  writes?: WritesResult[];
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** Per run, in run order (runs without the figure left out). */
  values: number[];
}

export interface ScenarioSpread {
  name: string;
  group: string;
  unit: ScenarioResult['unit'];
  /** Median throughput of each side, across runs. */
  throughput: Record<'faultline' | ReferenceName, Spread | null>;
  ratio: Spread | null;
  limitRatio: Spread | null;
  readaheadRatio: Spread | null;
  /** Faultline's CPU per page (ns) across runs. */
  cpuNsPerPage: Spread | null;
  /** How many runs met each target. */
  targets: { text: string; met: number; runs: number }[];
}

export interface RepeatReport {
  environment: Environment;
  runs: BenchRun[];
  summary: ScenarioSpread[];
  /** Per restore scenario, each variant's time and each speed-up across runs. */
  restoreSummary?: RestoreSpread[];
  /** Per out-of-core scenario, each side's rates and the ratios across runs. */
  oocSummary?: OocSpread[];
}

export function spread(values: readonly (number | null | undefined)[]): Spread | null {
  const present = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (present.length === 0) return null;
  return { median: median(present), min: Math.min(...present), max: Math.max(...present), values: present };
}

/** Per scenario (in the order of the first run), the spread of its figures over every run. */
export function summariseRuns(runs: readonly BenchRun[]): ScenarioSpread[] {
  const first = runs[0]?.scenarios ?? [];
  return first.map((s) => {
    const each = runs.map((r) => r.scenarios.find((x) => x.name === s.name)).filter((x): x is ScenarioResult => x !== undefined);
    const throughput = Object.fromEntries(
      (['faultline', ...REFERENCES] as const).map((side) => [side, spread(each.map((x) => x[side]?.throughput))]),
    ) as ScenarioSpread['throughput'];
    return {
      name: s.name,
      group: s.group,
      unit: s.unit,
      throughput,
      ratio: spread(each.map((x) => x.ratio)),
      limitRatio: spread(each.map((x) => x.limitRatio)),
      readaheadRatio: spread(each.map((x) => x.readaheadRatio)),
      cpuNsPerPage: spread(each.map((x) => x.faultline?.cpuNsPerPage)),
      targets: s.targets.map((t) => ({
        text: t.text,
        met: each.filter((x) => x.targets.find((y) => y.text === t.text)?.met === true).length,
        runs: each.length,
      })),
    };
  });
}
