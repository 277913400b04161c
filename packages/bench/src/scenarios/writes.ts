// The writes group (issue 11): what write tracking costs per written page.
// A resident region (every page already installed, so no missing fault is
// timed) gets one word written to each page by one native toucher thread,
// `passes` times per round with a dirtyPages({ reset: true }) between
// passes, so every pass writes pages that were just protected again:
//   plain:  the region without trackWrites (the memory's own cost: a store per page);
//   async:  trackWrites: 'async' (UFFD_FEATURE_WP_ASYNC: the kernel lifts the protection itself);
//   sync:   trackWrites: 'sync' (a write-protect fault per page, served by the handler).
// Per mode: wall and CPU time per written page, and what one reset over
// the whole region costs. The modes take turns going first, round by round,
// as the fault scenarios' sides do. Every reset must list every page: a
// tracker that misses writes must not print a number.
import { FaultHandler, resolvers, type Region } from '@faultline/core';
import testing from '@faultline/native/testing';
import { releaseRegion } from '../faultline.js';
import { sideOrder } from '../runner.js';
import { median, ratio } from '../stats.js';
import { processCpuNs } from './adopt.js';

export const WRITE_MODES = ['plain', 'async', 'sync'] as const;
export type WriteMode = (typeof WRITE_MODES)[number];

export interface WritesScenario {
  kind: 'writes';
  name: string;
  group: string;
  description: string;
  quick: boolean;
  /** Region size, bytes. */
  bytes: number;
  /** Writing passes per round (a reset after each). */
  passes: number;
}

/** One mode in one round: totals over its passes. */
export interface WritesSample {
  /** Pages written (passes x region pages). */
  pages: number;
  /** The toucher's own elapsed time, summed over the passes, ns. */
  writeNs: number;
  /** Process CPU (user + system, every thread) while the toucher wrote, ns. */
  writeCpuNs: number;
  /** Each reset's wall time, ns (none for plain). */
  resetNs: number[];
}

export interface WritesModeResult {
  mode: WriteMode;
  /** Medians over rounds. */
  wallNsPerPage: number;
  cpuNsPerPage: number;
  /** Median wall time of one dirtyPages({ reset: true }) over the region, ms; null for plain. */
  resetMs: number | null;
  /** This mode's per-page cost over plain writes' (same run). */
  wallRatio: number | null;
  cpuRatio: number | null;
}

export interface WritesResult {
  name: string;
  group: string;
  description: string;
  regionBytes: number;
  pages: number;
  passes: number;
  rounds: number;
  modes: WritesModeResult[];
}

export function writesScenarios(bytes = 64 << 20, passes = 4): WritesScenario[] {
  return [
    {
      kind: 'writes',
      name: `writes-${bytes >> 20}mib`,
      group: 'writes',
      description:
        `one word written to each page of a resident ${bytes >> 20} MiB region by 1 native thread, ${passes} passes per round, ` +
        'dirtyPages({ reset: true }) between passes: plain memory, trackWrites async (WP_ASYNC) and sync (WP faults)',
      quick: false,
      bytes,
      passes,
    },
  ];
}

async function trackedRegion(handler: FaultHandler, mode: WriteMode, bytes: number): Promise<Region> {
  const region = await handler.map({
    size: bytes,
    resolver: resolvers.zero(),
    name: `bench-writes-${mode}`,
    ...(mode === 'plain' ? {} : { trackWrites: mode }),
  });
  if (mode !== 'plain' && region.writeTracking !== mode) {
    throw new Error(`writes: asked for trackWrites '${mode}', the region tracks '${region.writeTracking}'`);
  }
  // Resident before anything is timed: every page faulted in (and, tracked, dirtied once and reset).
  await testing.touchPages(region.address, bytes, { write: true, threads: 1, latencies: false });
  if (mode !== 'plain') region.dirtyPages({ reset: true });
  return region;
}

export async function writesRound(handler: FaultHandler, mode: WriteMode, bytes: number, passes: number, pageSize: number): Promise<WritesSample> {
  const region = await trackedRegion(handler, mode, bytes);
  const pages = bytes / pageSize;
  const sample: WritesSample = { pages: 0, writeNs: 0, writeCpuNs: 0, resetNs: [] };
  try {
    for (let pass = 0; pass < passes; pass++) {
      const cpu0 = processCpuNs();
      const touched = await testing.touchPages(region.address, bytes, { write: true, threads: 1, latencies: false });
      sample.writeCpuNs += processCpuNs() - cpu0;
      sample.writeNs += touched.elapsedNs;
      sample.pages += touched.pages;
      if (mode === 'plain') continue;
      const t0 = process.hrtime.bigint();
      const dirty = region.dirtyPages({ reset: true });
      sample.resetNs.push(Number(process.hrtime.bigint() - t0));
      if (dirty.length !== pages) {
        throw new Error(`writes ${mode}: pass ${pass + 1} wrote all ${pages} pages, dirtyPages() listed ${dirty.length}: the tracking lost writes`);
      }
    }
  } finally {
    await releaseRegion(region);
  }
  return sample;
}

export function summariseWrites(scenario: WritesScenario, pageSize: number, samples: ReadonlyMap<WriteMode, readonly WritesSample[]>): WritesResult {
  const perMode = WRITE_MODES.map((mode) => {
    const list = samples.get(mode) ?? [];
    const resets = list.flatMap((s) => s.resetNs);
    return {
      mode,
      wallNsPerPage: median(list.map((s) => s.writeNs / s.pages)),
      cpuNsPerPage: median(list.map((s) => s.writeCpuNs / s.pages)),
      resetMs: resets.length === 0 ? null : median(resets) / 1e6,
    };
  });
  const plain = perMode.find((m) => m.mode === 'plain')!;
  return {
    name: scenario.name,
    group: scenario.group,
    description: scenario.description,
    regionBytes: scenario.bytes,
    pages: scenario.bytes / pageSize,
    passes: scenario.passes,
    rounds: Math.max(0, ...[...samples.values()].map((l) => l.length)),
    modes: perMode.map((m) => ({ ...m, wallRatio: ratio(m.wallNsPerPage, plain.wallNsPerPage), cpuRatio: ratio(m.cpuNsPerPage, plain.cpuNsPerPage) })),
  };
}

/**
 * Runs the group: its own handler (2 workers; a sync-tracked region adds a
 * second uffd to a handler, which would change how the shared handlers of
 * the other groups wait), `rounds` rounds of every mode.
 */
export async function runWritesScenario(
  scenario: WritesScenario,
  options: { rounds: number; pageSize: number; onRound?: (round: number) => void },
): Promise<WritesResult> {
  const handler = await FaultHandler.create({ workers: 2 });
  const samples = new Map<WriteMode, WritesSample[]>(WRITE_MODES.map((m) => [m, []]));
  try {
    for (let round = 0; round < options.rounds; round++) {
      options.onRound?.(round);
      for (const mode of sideOrder(WRITE_MODES, round)) {
        samples.get(mode)!.push(await writesRound(handler, mode, scenario.bytes, scenario.passes, options.pageSize));
      }
    }
  } finally {
    await handler.close();
  }
  return summariseWrites(scenario, options.pageSize, samples);
}
