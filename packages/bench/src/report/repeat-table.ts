// The summary printed after a --repeat run: per scenario, each ratio's median
// and spread (min..max) across runs, how many runs met each target, and the
// wake-up probe of every run (the machine's state moves the baseline).
import { micros, si, times } from '../format.js';
import type { RepeatReport, ScenarioSpread, Spread } from '../repeat.js';
import { grouped, renderColumns } from './columns.js';
import { headerLines, wakeText } from './header.js';
import { oocSummaryLines } from './ooc-table.js';
import { restoreSummaryLines } from './restore-table.js';

const HEADERS = ['scenario', 'faultline/s', 'ratio', 'ratio min..max', 'lim ratio', 'lim min..max', 'ra ratio', 'ra min..max', 'cpu/pg fl', 'targets met'] as const;
const RIGHT = new Set([1, 2, 3, 4, 5, 6, 7, 8]);

function range(s: Spread | null): string {
  return s === null ? '-' : `${s.min.toFixed(2)}..${s.max.toFixed(2)}`;
}

function row(s: ScenarioSpread): string[] {
  const f = s.throughput.faultline;
  return [
    s.name,
    f ? si(f.median) : '-',
    times(s.ratio?.median ?? null),
    range(s.ratio),
    times(s.limitRatio?.median ?? null),
    range(s.limitRatio),
    times(s.readaheadRatio?.median ?? null),
    range(s.readaheadRatio),
    micros(s.cpuNsPerPage?.median),
    s.targets.map((t) => `${t.text}: ${t.met}/${t.runs}`).join('; '),
  ];
}

export function formatRepeatTable(report: RepeatReport): string {
  const lines = [
    `summary of ${report.runs.length} runs`,
    ...headerLines(report.environment),
    ...report.runs.map((r) => `run ${r.run}: ${r.wakeProbe ? wakeText(r.wakeProbe) : 'wake-up cost not probed'}`),
    ...(report.summary.length > 0 ? ['', ...renderColumns(HEADERS, grouped(report.summary, row), RIGHT)] : []),
    ...restoreSummaryLines(report.restoreSummary ?? []),
    ...oocSummaryLines(report.oocSummary ?? []),
    '',
    'Medians across runs of each run\'s figure (itself a median over its rounds); min..max: the spread across runs.',
    'targets met: in how many runs the target was met.',
  ];
  return lines.join('\n') + '\n';
}
