// The out-of-core group (issue 11, "peer comparison"): the workload of LLNL
// UMap's examples on a file-backed uint64 array 4x larger than its memory
// budget — a streaming pass (every element read and written in order), then
// random updates (fixed seed), then everything flushed to the file and the
// file checked against the values computed from the formula
// (native/src/testing/ooc_workload.h). Two sides, each round on a fresh file:
//   c:         faultline_ooc_c, one blocking handler thread that evicts in its
//              fault path with Faultline's policy (budget, low-water mark,
//              clock sweep, 64-page runs, UFFDIO_MOVE, compare-and-pwrite);
//   faultline: map({ maxResident, evictTo, writeback: true, readahead: 16,
//              resolver: resolvers.file(path, { writable: true }) }) on the
//              bench's 2-worker handler, the same workload in a native thread
//              (readahead fills 16 pages per fault of the streaming pass only:
//              random faults take one page, native serve/eviction_window.h).
// Both run the workload in the process that owns the memory: UFFDIO_MOVE,
// which both evict with, moves pages only within the uffd's own process.
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { resolvers } from '@faultline/core';
import testing from '@faultline/native/testing';
import { promisify } from 'node:util';
import { parseJsonLine, programPath } from '../native-program.js';
import type { OocSample } from '../ooc/results.js';
import { processCpuNs } from './adopt.js';
import { releaseRegion } from '../faultline.js';
import type { BenchContext } from './types.js';

const run = promisify(execFile);
export const OOC_PROGRAM = 'faultline_ooc_c';
const WORKERS = 2;
/**
 * Faultline's side fills a window of this many pages per fault where the
 * workload reads in order (the streaming pass); random faults take one page
 * (native serve/eviction_window.h). The C reference installs one page per fault.
 */
export const OOC_READAHEAD = 16;

export interface OocSizes {
  fileBytes: number;
  budgetBytes: number;
  evictToBytes: number;
  updates: number;
}

/** Full run: 256 MiB array, 64 MiB budget, 1M updates; --quick: 32 MiB, 8 MiB, 100k. */
export function oocSizes(quick: boolean): OocSizes {
  const fileBytes = quick ? 32 << 20 : 256 << 20;
  const budgetBytes = fileBytes / 4;
  return { fileBytes, budgetBytes, evictToBytes: (budgetBytes / 4) * 3, updates: quick ? 100_000 : 1_000_000 };
}

export interface OocSide {
  name: 'c' | 'faultline';
  description: string;
  /** Runs without @faultline/core (--baseline-only keeps only this one). */
  reference: boolean;
  run(ctx: BenchContext, sizes: OocSizes): Promise<OocSample>;
}

export interface OocScenario {
  kind: 'out-of-core';
  name: string;
  group: string;
  description: string;
  quick: boolean;
  sizes: OocSizes;
  sides: OocSide[];
}

/** A round whose file came out wrong has no meaningful time. */
function checkFile(side: string, wrong: number, elements: number): void {
  if (wrong !== 0) {
    const err = new Error(
      `out-of-core, ${side}: ${wrong} of ${elements} array elements in the file are wrong after the flush; ` +
        'the throughput of this run is meaningless',
    );
    (err as NodeJS.ErrnoException).code = 'ERR_FAULTLINE_BENCH_CONTENT';
    throw err;
  }
}

export function oocArgs(file: string, s: OocSizes, seed: number): string[] {
  return ['--file', file, '--size', String(s.fileBytes), '--budget', String(s.budgetBytes), '--evict-to', String(s.evictToBytes),
    '--updates', String(s.updates), '--seed', String(seed)];
}

async function cRound(ctx: BenchContext, s: OocSizes): Promise<OocSample> {
  const file = join(dirname(ctx.file), 'ooc-c.bin');
  try {
    const { stdout } = await run(programPath(OOC_PROGRAM), oocArgs(file, s, ctx.seed), { maxBuffer: 1 << 20 });
    const r = parseJsonLine(OOC_PROGRAM, stdout);
    checkFile('C handler', r.num('wrong'), r.num('elements'));
    return {
      streamNs: r.num('streamNs'),
      randomNs: r.num('randomNs'),
      flushNs: r.num('flushNs'),
      streamPagesIn: r.num('streamFaults'),
      randomPagesIn: r.num('randomFaults'),
      faults: r.num('streamFaults') + r.num('randomFaults'),
      streamCpuNs: r.num('streamCpuNs'),
      randomCpuNs: r.num('randomCpuNs'),
      evicted: r.num('evicted'),
      writtenBack: r.num('writtenBack'),
      maxResident: r.num('maxResident'),
    };
  } finally {
    rmSync(file, { force: true });
  }
}

async function faultlineRound(ctx: BenchContext, s: OocSizes): Promise<OocSample> {
  const file = join(dirname(ctx.file), 'ooc-faultline.bin');
  const elements = s.fileBytes / 8;
  testing.oocInitFile(file, elements);
  const handler = await ctx.handlers!.get(WORKERS);
  const region = await handler.map({
    size: s.fileBytes,
    resolver: resolvers.file(file, { writable: true }),
    maxResident: s.budgetBytes,
    evictTo: s.evictToBytes,
    writeback: true,
    readahead: OOC_READAHEAD,
    name: 'bench-out-of-core',
  });
  try {
    const installed = () => region.stats().pagesInstalled;
    const cpu0 = processCpuNs();
    const stream = await testing.oocStream(region.address, elements);
    const cpu1 = processCpuNs();
    // The install counter is bumped just after the install that woke the workload: let the last one land.
    await handler.idle();
    const afterStream = installed();
    const cpu2 = processCpuNs();
    const random = await testing.oocRandom(region.address, elements, s.updates, ctx.seed);
    const cpu3 = processCpuNs();
    await handler.idle();
    const afterRandom = installed();
    const t0 = process.hrtime.bigint();
    await region.flush();
    const flushNs = Number(process.hrtime.bigint() - t0);
    const ev = region.evictionStats()!;
    const faults = region.stats().faults;
    await releaseRegion(region);
    checkFile('Faultline', testing.oocCheckFile(file, elements, s.updates, ctx.seed), elements);
    return {
      streamNs: stream.elapsedNs,
      randomNs: random.elapsedNs,
      flushNs,
      streamPagesIn: afterStream,
      randomPagesIn: afterRandom - afterStream,
      faults,
      streamCpuNs: cpu1 - cpu0,
      randomCpuNs: cpu3 - cpu2,
      evicted: ev.evicted,
      writtenBack: ev.writtenBack,
      maxResident: ev.maxResidentSeen,
    };
  } finally {
    await releaseRegion(region).catch(() => undefined);
    rmSync(file, { force: true });
  }
}

/** The group's scenarios, sized for a full run or --quick. */
export function oocScenarios(quick: boolean): OocScenario[] {
  return [
    {
      kind: 'out-of-core',
      name: 'ooc-umap',
      group: 'out-of-core',
      description:
        'UMap-style out-of-core: a uint64 array in a file 4x its resident budget, a streaming pass (a[i] = 3a[i] + 1), ' +
        'random updates (a[r] += 1, fixed seed), flush, the file checked; Faultline maxResident + writeback vs a blocking C handler evicting in its fault path',
      quick: true,
      sizes: oocSizes(quick),
      sides: [
        {
          name: 'c',
          description: 'faultline_ooc_c: one blocking handler thread, pread + UFFDIO_COPY per fault, synchronous eviction (same policy)',
          reference: true,
          run: cRound,
        },
        {
          name: 'faultline',
          description: `map({ maxResident, evictTo, writeback: true, readahead: ${OOC_READAHEAD} }) with resolvers.file(writable), ${WORKERS} workers`,
          reference: false,
          run: faultlineRound,
        },
      ],
    },
  ];
}
