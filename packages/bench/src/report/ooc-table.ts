// The out-of-core group's part of the tables: per side, each pass's rate,
// CPU per page, faults, what was written back, the most resident, the flush;
// then Faultline / C for each pass. With --repeat, the rates and ratios
// across runs.
import { micros, si, times } from '../format.js';
import type { OocResult, OocSideResult, OocSpread } from '../ooc/results.js';
import type { Spread } from '../repeat.js';
import { renderColumns } from './columns.js';

const HEADERS = [
  'side', 'stream pg/s', 'random pg/s', 'updates/s', 'cpu/pg stream', 'cpu/pg random', 'faults', 'written back MiB',
  'max resident MiB', 'flush ms', 'stream rounds ms', 'random rounds ms',
] as const;
const RIGHT = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9]);
const MiB = 1 << 20;

const ms = (v: number): string => (v >= 100 ? v.toFixed(0) : v.toFixed(1));

function sideRow(name: string, s: OocSideResult): string[] {
  return [
    name,
    si(s.streamPagesPerSec),
    si(s.randomPagesPerSec),
    si(s.updatesPerSec),
    micros(s.streamCpuNsPerPage),
    micros(s.randomCpuNsPerPage),
    String(Math.round(s.faults)),
    (s.writtenBackBytes / MiB).toFixed(0),
    (s.maxResidentBytes / MiB).toFixed(1),
    ms(s.flushMs),
    s.streamRoundsMs.map(ms).join(' '),
    s.randomRoundsMs.map(ms).join(' '),
  ];
}

export function oocLines(results: readonly OocResult[]): string[] {
  if (results.length === 0) return [];
  const lines: string[] = [];
  for (const r of results) {
    lines.push(
      '',
      `-- out-of-core: ${r.name}: ${r.fileBytes / MiB} MiB array, ${r.budgetBytes / MiB} MiB budget (evict to ${r.evictToBytes / MiB} MiB), ` +
        `${r.updates} random updates`,
    );
    const rows: string[][] = [];
    if (r.c) rows.push(sideRow('c (blocking, evicts in fault path)', r.c));
    if (r.faultline) rows.push(sideRow('faultline', r.faultline));
    lines.push(...renderColumns(HEADERS, rows, RIGHT));
    if (r.streamRatio !== null || r.randomRatio !== null) {
      lines.push(`faultline / c: stream ${times(r.streamRatio)}, random ${times(r.randomRatio)}`);
    }
  }
  lines.push(
    '',
    'out-of-core: both sides run the same native workload (ooc_workload.h) on a fresh file each round, in the process that owns the memory;',
    'stream pg/s: array pages / stream-pass time; random pg/s: pages brought in during the random pass / its time; updates/s: updates / its time;',
    'cpu/pg: user + system CPU of the whole process per array page (stream) or per page brought in (random), in microseconds;',
    'faults: fault messages over both passes (Faultline: re-deliveries of pages being evicted included); written back: pages that differed from the file;',
    'max resident: C exact, Faultline at the evictor\'s looks; flush: evicting and writing back what is left. The file is checked every round.',
  );
  return lines;
}

function range(s: Spread | null, digits = 2): string {
  return s === null ? '-' : `${s.min.toFixed(digits)}..${s.max.toFixed(digits)}`;
}

function rateRange(s: Spread | null): string {
  return s === null ? '-' : `${si(s.median)} (${si(s.min)}..${si(s.max)})`;
}

export function oocSummaryLines(spreads: readonly OocSpread[]): string[] {
  if (spreads.length === 0) return [];
  const lines: string[] = [];
  for (const s of spreads) {
    lines.push('', `-- out-of-core: ${s.name}`);
    lines.push(
      ...renderColumns(
        ['side', 'stream pg/s', 'random pg/s', 'cpu/pg stream', 'cpu/pg random', 'written back MiB'],
        s.sides
          .filter((x) => x.streamPagesPerSec !== null)
          .map((x) => [
            x.side,
            rateRange(x.streamPagesPerSec),
            rateRange(x.randomPagesPerSec),
            micros(x.streamCpuNsPerPage?.median),
            micros(x.randomCpuNsPerPage?.median),
            x.writtenBackBytes === null ? '-' : (x.writtenBackBytes.median / MiB).toFixed(0),
          ]),
        new Set([1, 2, 3, 4, 5]),
      ),
    );
    if (s.streamRatio !== null || s.randomRatio !== null) {
      lines.push(
        `faultline / c: stream ${times(s.streamRatio?.median ?? null)} (${range(s.streamRatio)}), ` +
          `random ${times(s.randomRatio?.median ?? null)} (${range(s.randomRatio)})`,
      );
    }
  }
  return lines;
}
