// The shapes the bench produces: one sample per round and side, summarised
// per scenario, plus the environment. The report writers take only these.
import { median, perSecond, ratio } from './stats.js';
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
  /** User + system CPU of the handling process (all its threads, touchers included) over the round; null where not measured. */
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

export interface Target {
  /** e.g. '>= 1.0x baseline' */
  text: string;
  /** Faultline/baseline ratio required (compared with the scenario's ratio)... */
  minRatio?: number;
  /** ...or an absolute throughput required (units of the scenario). */
  minThroughput?: number;
}

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
  target: (Target & { met: boolean }) | null;
}

export interface Environment {
  date: string;
  kernel: string;
  node: string;
  cpus: number;
  cpuModel: string;
  quick: boolean;
  rounds: number;
  regionBytes: number;
  /** Thread wake-up cost on this machine, probed before and after the scenarios (null if not probed). */
  wakeProbe: { before: WakeProbe; after: WakeProbe } | null;
  /** Handler options the Faultline side ran with (ablations); {} = library defaults. */
  handler: { directPoll?: boolean; spin?: number };
  /** What rssDeltaKb means, for readers of the JSON. */
  rssNote: string;
}

export interface BenchReport {
  environment: Environment;
  scenarios: ScenarioResult[];
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

export function judgeTarget(target: Target | undefined, faultline: SideResult | null, r: number | null): ScenarioResult['target'] {
  if (target === undefined || faultline === null) return null;
  let met = true;
  if (target.minRatio !== undefined) met &&= r !== null && r >= target.minRatio;
  if (target.minThroughput !== undefined) met &&= faultline.throughput >= target.minThroughput;
  return { ...target, met };
}

export function scenarioResult(
  meta: Pick<ScenarioResult, 'name' | 'group' | 'description' | 'unit' | 'pages'>,
  faultline: SideResult | null,
  baseline: SideResult | null,
  target?: Target,
): ScenarioResult {
  const r = ratio(faultline?.throughput, baseline?.throughput);
  return { ...meta, faultline, baseline, ratio: r, target: judgeTarget(target, faultline, r) };
}
