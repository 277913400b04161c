// The aligned text table of one run, printed on stdout: one row per
// scenario, Faultline next to each C reference and as ratios, grouped, with
// the environment on top and every target's verdict.
import { micros, si, times } from '../format.js';
import type { BenchReport, ScenarioResult, SideResult } from '../results.js';
import { grouped, renderColumns } from './columns.js';
import { headerLines } from './header.js';
import { oocLines } from './ooc-table.js';
import { restoreLines } from './restore-table.js';
import { writesLines } from './writes-table.js';

// fl = Faultline, bl = the blocking C baseline, lim = the busy-polling C limit,
// ra ref = the blocking C handler with the row's readahead; latencies in microseconds.
const HEADERS = [
  'scenario', 'faultline/s', 'baseline/s', 'ratio', 'limit/s', 'lim ratio', 'ra ref/s', 'ra ratio', 'faults/s fl',
  'p50 fl', 'p50 bl', 'p50 lim', 'p99 fl', 'p99 bl', 'resolver calls', 'cpu/pg fl', 'cpu/pg bl', 'cpu/pg lim',
  'rssMiB fl', 'rssMiB bl', 'targets',
] as const;
const RIGHT = new Set(HEADERS.map((_, i) => i).filter((i) => i > 0 && i < HEADERS.length - 1));

function mib(side: SideResult | null): string {
  return side?.rssDeltaKb == null ? '-' : (side.rssDeltaKb / 1024).toFixed(1);
}

const rate = (side: SideResult | null): string => (side ? si(side.throughput) : '-');

export function targetsText(s: Pick<ScenarioResult, 'targets'>): string {
  return s.targets.map((t) => `${t.text}: ${t.met ? 'met' : 'MISSED'}`).join('; ');
}

function row(s: ScenarioResult): string[] {
  const f = s.faultline;
  const b = s.baseline;
  const l = s.limit;
  return [
    s.name,
    rate(f),
    rate(b),
    times(s.ratio),
    rate(l),
    times(s.limitRatio),
    rate(s.readaheadBaseline),
    times(s.readaheadRatio),
    f ? si(f.faultsPerSec) : '-',
    micros(f?.p50Ns),
    micros(b?.p50Ns),
    micros(l?.p50Ns),
    micros(f?.p99Ns),
    micros(b?.p99Ns),
    f?.resolverCalls == null ? '-' : String(Math.round(f.resolverCalls)),
    micros(f?.cpuNsPerPage),
    micros(b?.cpuNsPerPage),
    micros(l?.cpuNsPerPage),
    mib(f),
    mib(b),
    targetsText(s),
  ];
}

export function formatTable(report: BenchReport): string {
  const e = report.environment;
  const restore = [...restoreLines(report.restore ?? []), ...oocLines(report.ooc ?? []), ...writesLines(report.writes ?? [])];
  // A run of the restore, out-of-core or writes group alone has no fault rows: their own lines say it all.
  if (report.scenarios.length === 0 && restore.length > 0) return [...headerLines(e), ...restore].join('\n') + '\n';
  const lines = [
    ...headerLines(e),
    '',
    ...renderColumns(HEADERS, grouped(report.scenarios, row), RIGHT),
    '',
    'ratio = Faultline / baseline throughput (baseline: a C handler thread, blocking read, one ioctl per fault).',
    'lim ratio = Faultline / limit (the limit: a C handler thread busy-polling a non-blocking uffd, never sleeping, yielding between empty reads; one ioctl per fault).',
    'ra ratio = Faultline / ra ref (ra ref: the blocking C handler installing the row\'s readahead pages per fault, one ioctl).',
    'Adopt rows: the faulting process is another one (Firecracker-style uffd over a Unix socket), the C references a handler process.',
    'fl = Faultline, bl = baseline, lim = limit. p50/p99: per-fault latency in microseconds, measured by the toucher. rssMiB: ' +
      e.rssNote.replace(/^rssDeltaKb: /, '') + '.',
    'cpu/pg: user + system CPU per page touched, in microseconds, of the handling process (every thread, touchers included; ' +
      'adopt rows: the handler process plus the faulting child).',
    ...restore,
  ];
  return lines.join('\n') + '\n';
}
