// The shapes the bench produces: one sample per round and side, summarised
// per scenario, plus the environment. The report writers take only these.
import { median, perSecond, ratio } from './stats.js';
import type { OocResult } from './ooc/results.js';
import type { RestoreResult } from './restore/results.js';
import type { WritesResult } from './scenarios/writes.js';
import type { WakeProbe } from './wake-probe.js';

/** What one round of one side measured. */
export interface RoundSample {
  elapsedNs: number;
  /** Pages touched (or messages moved, for the ring). */
  pages: number;
  /** Faults (uffd messages) the handler served; equals pages without readahead. */
  faults: number;
  /** Per-fault latency percentiles measured by the toucher; null where not measured. */
  p50Ns: number | null;
  p99Ns: number | null;
  /** Resolver calls (Faultline only). */
  resolverCalls: number | null;
  /** RSS growth of the handling process over the round, region pages included. */
  rssDeltaKb: number | null;
  /** User + system CPU of the handling process(es) (all threads, touchers included) over the round; null where not measured. */
  cpuNs: number | null;
}

/** Medians over the rounds of one side of a scenario. */
export interface SideResult {
  /** pages/s (messages/s for the ring). */
  throughput: number;
  faultsPerSec: number;
  p50Ns: number | null;
  p99Ns: number | null;
  resolverCalls: number | null;
  rssDeltaKb: number | null;
  /** CPU time per page touched (ns): what the throughput cost the machine. */
  cpuNsPerPage: number | null;
  /** Throughput of every round, in the order run. */
  rounds: number[];
}

/**
 * The C handlers Faultline is measured against (packages/native/src/testing/baseline/):
 *   baseline:          one thread, blocking read, one ioctl per fault;
 *   limit:             one thread busy-polling a non-blocking uffd (never sleeping, yielding when empty), one ioctl per fault;
 *   readaheadBaseline: the blocking handler installing the scenario's readahead N pages per fault.
 */
export const REFERENCES = ['baseline', 'limit', 'readaheadBaseline'] as const;
export type ReferenceName = (typeof REFERENCES)[number];

export interface Target {
  /** e.g. '>= 1.0x baseline' */
  text: string;
  /** The reference minRatio and cpuNotAbove compare with (default 'baseline'). */
  reference?: ReferenceName;
  /** Faultline/reference throughput required... */
  minRatio?: number;
  /** ...and/or Faultline's CPU per page at most the reference's... */
  cpuNotAbove?: boolean;
  /** ...or an absolute throughput required (units of the scenario). */
  minThroughput?: number;
}

export type JudgedTarget = Target & { met: boolean };

export interface ScenarioResult {
  name: string;
  group: string;
  description: string;
  unit: 'pages/s' | 'msgs/s';
  /** Pages (messages) per round. */
  pages: number;
  /** null with --baseline-only. */
  faultline: SideResult | null;
  /** null where there is no baseline (the ring). */
  baseline: SideResult | null;
  /** faultline.throughput / baseline.throughput. */
  ratio: number | null;
  /** null where the limit was not run. */
  limit: SideResult | null;
  /** faultline.throughput / limit.throughput. */
  limitRatio: number | null;
  /** null unless the scenario has readahead > 1. */
  readaheadBaseline: SideResult | null;
  /** faultline.throughput / readaheadBaseline.throughput. */
  readaheadRatio: number | null;
  /** Empty with --baseline-only (nothing to judge). */
  targets: JudgedTarget[];
}

export interface Placement {
  /** The CPU every thread of both sides was pinned to (--pin), or null: as the scheduler places them. */
  pinnedCpu: number | null;
  /** Cpus_allowed_list of the bench process, as the kernel reports it (e.g. '0-1', '0'). */
  cpusAllowed: string;
}

export interface Environment {
  date: string;
  kernel: string;
  node: string;
  cpus: number;
  cpuModel: string;
  quick: boolean;
  rounds: number;
  /** Runs of the whole scenario set (--repeat). */
  repeat: number;
  regionBytes: number;
  placement: Placement;
  /** Thread wake-up cost on this machine, probed before and after the scenarios (null if not probed; per run with --repeat). */
  wakeProbe: { before: WakeProbe; after: WakeProbe } | null;
  /** Handler options the Faultline side ran with, as given on the command line (ablations); {} = library defaults. */
  handler: Record<string, boolean | number | string>;
  /** What rssDeltaKb means, for readers of the JSON. */
  rssNote: string;
}

/** One run of the selected scenarios. */
export interface BenchReport {
  environment: Environment;
  scenarios: ScenarioResult[];
  /** The restore group (time to touch a working set; its own shape). */
  restore?: RestoreResult[];
  /** The out-of-core group (a whole workload per round; its own shape). */
  ooc?: OocResult[];
  /** The writes group (cost per written page of write tracking; its own shape). */
  writes?: WritesResult[];
}

function medianOrNull(values: (number | null)[]): number | null {
  const present = values.filter((v): v is number => v !== null);
  return present.length === 0 ? null : median(present);
}

export function summarise(samples: readonly RoundSample[]): SideResult {
  const rounds = samples.map((s) => perSecond(s.pages, s.elapsedNs));
  return {
    throughput: median(rounds),
    faultsPerSec: median(samples.map((s) => perSecond(s.faults, s.elapsedNs))),
    p50Ns: medianOrNull(samples.map((s) => s.p50Ns)),
    p99Ns: medianOrNull(samples.map((s) => s.p99Ns)),
    resolverCalls: medianOrNull(samples.map((s) => s.resolverCalls)),
    rssDeltaKb: medianOrNull(samples.map((s) => s.rssDeltaKb)),
    cpuNsPerPage: medianOrNull(samples.map((s) => (s.cpuNs === null || s.pages === 0 ? null : s.cpuNs / s.pages))),
    rounds,
  };
}

type Sides = Pick<ScenarioResult, 'faultline' | ReferenceName>;

/** A target is met only when every condition it names holds; a missing measurement fails it. */
export function judgeTarget(target: Target, sides: Sides): JudgedTarget {
  const f = sides.faultline;
  const ref = sides[target.reference ?? 'baseline'];
  let met = f !== null;
  if (target.minRatio !== undefined) {
    const r = ratio(f?.throughput, ref?.throughput);
    met &&= r !== null && r >= target.minRatio;
  }
  if (target.cpuNotAbove) {
    met &&= f?.cpuNsPerPage != null && ref?.cpuNsPerPage != null && f.cpuNsPerPage <= ref.cpuNsPerPage;
  }
  if (target.minThroughput !== undefined) met &&= f !== null && f.throughput >= target.minThroughput;
  return { ...target, met };
}

export function scenarioResult(
  meta: Pick<ScenarioResult, 'name' | 'group' | 'description' | 'unit' | 'pages'>,
  sides: Partial<Sides>,
  targets: readonly Target[] = [],
): ScenarioResult {
  const all: Sides = {
    faultline: sides.faultline ?? null,
    baseline: sides.baseline ?? null,
    limit: sides.limit ?? null,
    readaheadBaseline: sides.readaheadBaseline ?? null,
  };
  const versus = (ref: ReferenceName) => ratio(all.faultline?.throughput, all[ref]?.throughput);
  return {
    ...meta,
    faultline: all.faultline,
    baseline: all.baseline,
    ratio: versus('baseline'),
    limit: all.limit,
    limitRatio: versus('limit'),
    readaheadBaseline: all.readaheadBaseline,
    readaheadRatio: versus('readaheadBaseline'),
    targets: all.faultline === null ? [] : targets.map((t) => judgeTarget(t, all)),
  };
}
