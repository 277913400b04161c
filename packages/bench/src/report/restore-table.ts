// The restore group's part of the tables: per scenario, each variant's median
// time to touch the working set (and every round's), its demand faults and
// CPU per page, then the speed-ups with their targets. With --repeat, each
// variant's time and each speed-up across runs.
import { micros, times } from '../format.js';
import type { RestoreResult, RestoreSpread } from '../restore/results.js';
import type { Spread } from '../repeat.js';
import { renderColumns } from './columns.js';

const HEADERS = ['variant', 'ms (median)', 'rounds ms', 'faults', 'prefetched', 'requests', 'p50 us', 'p99 us', 'cpu/pg us'] as const;
const RIGHT = new Set([1, 3, 4, 5, 6, 7, 8]);

const ms = (v: number): string => (v >= 100 ? v.toFixed(0) : v.toFixed(1));

function verdict(c: { minSpeedup: number | null; met: boolean | null }): string {
  return c.minSpeedup === null ? '' : ` (target >= ${c.minSpeedup}x: ${c.met ? 'met' : 'MISSED'})`;
}

function heading(r: Pick<RestoreResult, 'name' | 'description' | 'regionBytes' | 'workingSetPages' | 'totalPages'>): string {
  return `-- restore: ${r.name}: ${r.description}; working set ${r.workingSetPages} of ${r.totalPages} pages`;
}

export function restoreLines(results: readonly RestoreResult[]): string[] {
  if (results.length === 0) return [];
  const lines: string[] = [];
  for (const r of results) {
    lines.push('', heading(r));
    if (r.skipped !== null) {
      lines.push(`skipped: ${r.skipped}`);
      continue;
    }
    const rows = r.variants.map((v) => [
      v.name,
      ms(v.ms),
      v.roundsMs.map(ms).join(' '),
      v.faults === null ? '-' : String(Math.round(v.faults)),
      v.prefetched === null ? '-' : String(Math.round(v.prefetched)),
      v.requests === null ? '-' : String(Math.round(v.requests)),
      micros(v.p50Ns),
      micros(v.p99Ns),
      micros(v.cpuNsPerPage),
    ]);
    lines.push(...renderColumns(HEADERS, rows, RIGHT));
    for (const c of r.comparisons) {
      lines.push(`${c.variant} vs ${c.versus}: ${c.speedup === null ? '-' : `${times(c.speedup)} faster`}${verdict(c)}`);
    }
  }
  lines.push(
    '',
    'restore: time for the child (a separate process that handed its uffd over, Firecracker-style) to touch its whole working set, by its own clock,',
    'from "go" (Faultline: before the trace is read and the uffd adopted) to its last touch; every touched page checked against the memory file.',
    'faults: page-fault messages the handler got (a fault the prefetch answered first counts too); prefetched: pages the prefetch installed;',
    'requests: HTTP requests the server answered during the round (restore-http; the prefetch counted to its end);',
    'p50/p99: per-touch latency in the child; cpu/pg: user + system CPU of the child and the handling process per working-set page.',
  );
  return lines;
}

function range(s: Spread | null, digits = 2): string {
  return s === null ? '-' : `${s.min.toFixed(digits)}..${s.max.toFixed(digits)}`;
}

export function restoreSummaryLines(spreads: readonly RestoreSpread[]): string[] {
  if (spreads.length === 0) return [];
  const lines: string[] = [];
  for (const s of spreads) {
    lines.push('', `-- restore: ${s.name}`);
    for (const why of new Set(s.skipped)) lines.push(`skipped in ${s.skipped.filter((x) => x === why).length} run(s): ${why}`);
    if (s.variants.length === 0) continue;
    lines.push(
      ...renderColumns(
        ['variant', 'ms (median)', 'ms min..max', 'cpu/pg us', 'requests'],
        s.variants.map((v) => [
          v.name,
          v.ms === null ? '-' : ms(v.ms.median),
          range(v.ms, 1),
          micros(v.cpuNsPerPage?.median),
          v.requests === null ? '-' : String(Math.round(v.requests.median)),
        ]),
        new Set([1, 2, 3, 4]),
      ),
    );
    for (const c of s.comparisons) {
      const target = c.minSpeedup === null ? '' : `; target >= ${c.minSpeedup}x met in ${c.met}/${c.runs} runs`;
      lines.push(`${c.variant} vs ${c.versus}: ${times(c.speedup?.median ?? null)} faster (${range(c.speedup)})${target}`);
    }
  }
  return lines;
}
