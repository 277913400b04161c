// The aligned text table printed on stdout: one row per scenario, Faultline
// next to the baseline and as a ratio, grouped, with the environment on top.
import { micros, si, times } from '../format.js';
import type { BenchReport, ScenarioResult, SideResult } from '../results.js';

// fl = Faultline, bl = the C baseline; latencies in microseconds.
const HEADERS = [
  'scenario', 'faultline/s', 'baseline/s', 'ratio', 'faults/s fl', 'p50 fl', 'p50 bl', 'p99 fl', 'p99 bl',
  'resolver calls', 'cpu/pg fl', 'cpu/pg bl', 'rssMiB fl', 'rssMiB bl', 'target',
] as const;
const RIGHT = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);

function mib(side: SideResult | null): string {
  return side?.rssDeltaKb == null ? '-' : (side.rssDeltaKb / 1024).toFixed(1);
}

function row(s: ScenarioResult): string[] {
  const f = s.faultline;
  const b = s.baseline;
  return [
    s.name,
    f ? si(f.throughput) : '-',
    b ? si(b.throughput) : '-',
    times(s.ratio),
    f ? si(f.faultsPerSec) : '-',
    micros(f?.p50Ns),
    micros(b?.p50Ns),
    micros(f?.p99Ns),
    micros(b?.p99Ns),
    f?.resolverCalls == null ? '-' : String(Math.round(f.resolverCalls)),
    micros(f?.cpuNsPerPage),
    micros(b?.cpuNsPerPage),
    mib(f),
    mib(b),
    s.target === null ? '' : `${s.target.text}: ${s.target.met ? 'met' : 'MISSED'}`,
  ];
}

export function formatTable(report: BenchReport): string {
  const e = report.environment;
  const lines: string[] = [
    `Faultline bench  ${e.date}  ${e.kernel}  node ${e.node}  ${e.cpus} x ${e.cpuModel}`,
    `${e.quick ? 'quick' : 'full'} run: ${e.rounds} rounds per scenario (baseline and Faultline alternately, medians), ` +
      `${e.regionBytes / (1 << 20)} MiB region per round; throughput in pages/s unless the group says msgs/s`,
    ...(e.wakeProbe
      ? [
          `machine: waking a sleeping thread costs ${micros(e.wakeProbe.before.sleepRoundTripNs / 2)} us ` +
            `(${micros(e.wakeProbe.after.sleepRoundTripNs / 2)} us after the run); ` +
            `a round trip to a spinning peer ${micros(e.wakeProbe.before.spinRoundTripNs)} us`,
        ]
      : []),
    ...(e.handler && Object.keys(e.handler).length > 0 ? [`handler options: ${JSON.stringify(e.handler)} (library defaults otherwise)`] : []),
    '',
  ];
  const body: (string[] | string)[] = [];
  let group = '';
  for (const s of report.scenarios) {
    if (s.group !== group) {
      group = s.group;
      body.push(`-- ${group}${s.unit === 'msgs/s' ? ' (msgs/s)' : ''}`);
    }
    body.push(row(s));
  }
  const rows = body.filter((r): r is string[] => Array.isArray(r));
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const render = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (RIGHT.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  lines.push(render(HEADERS));
  lines.push(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of body) lines.push(typeof r === 'string' ? r : render(r));
  lines.push('');
  lines.push('ratio = Faultline / baseline throughput (baseline: the C handler, 1 thread, blocking read, one ioctl per fault).');
  lines.push('fl = Faultline, bl = baseline. p50/p99: per-fault latency in microseconds, measured by the toucher. rssMiB: ' + e.rssNote.replace(/^rssDeltaKb: /, '') + '.');
  lines.push('cpu/pg: user + system CPU of the handling process (every thread, touchers included) per page touched, in microseconds.');
  return lines.join('\n') + '\n';
}
