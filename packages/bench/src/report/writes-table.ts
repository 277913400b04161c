// The writes group's part of the tables: per tracking mode, wall and CPU
// time per written page, both as ratios over plain writes of the same run,
// and what one dirtyPages({ reset: true }) over the region costs.
import { times } from '../format.js';
import type { WritesResult } from '../scenarios/writes.js';
import { renderColumns } from './columns.js';

const HEADERS = ['mode', 'ns/page', 'vs plain', 'cpu ns/page', 'cpu vs plain', 'reset ms'] as const;
const RIGHT = new Set([1, 2, 3, 4, 5]);

const ns = (v: number): string => (Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v.toFixed(1)) : '-');

export function writesLines(results: readonly WritesResult[]): string[] {
  const lines: string[] = [];
  for (const r of results) {
    lines.push('', `-- writes: ${r.name}: ${r.description}; ${r.pages} pages, medians of ${r.rounds} rounds`);
    const rows = r.modes.map((m) => [
      m.mode,
      ns(m.wallNsPerPage),
      times(m.wallRatio),
      ns(m.cpuNsPerPage),
      times(m.cpuRatio),
      m.resetMs === null ? '-' : m.resetMs.toFixed(2),
    ]);
    lines.push(...renderColumns(HEADERS, rows, RIGHT));
    lines.push(
      'ns/page: the toucher\'s time per written page; cpu ns/page: user + system CPU of the process (every thread) meanwhile; ' +
        'reset ms: one dirtyPages({ reset: true }) listing and re-protecting every page.',
    );
  }
  return lines;
}
