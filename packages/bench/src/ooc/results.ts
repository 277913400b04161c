// What the out-of-core group measures: per side (the blocking C handler that
// evicts in its fault path, and Faultline with maxResident + writeback), the
// rate of each pass of the workload, what eviction wrote back, the most pages
// resident, CPU per page; and Faultline / C for each pass. Its own shape: a
// round is a whole workload (two passes, a flush, a check of the file), not
// one touch of every page.
import { median, perSecond, ratio } from '../stats.js';
import { spread, type Spread } from '../repeat.js';

/** One round of one side. */
export interface OocSample {
  streamNs: number;
  randomNs: number;
  /** Time to evict (and write back) everything still resident after the passes. */
  flushNs: number;
  /** Pages brought in during each pass (installs; one page per fault on both sides). */
  streamPagesIn: number;
  randomPagesIn: number;
  /** Fault messages the handler got over both passes (Faultline: re-deliveries of pages being evicted included). */
  faults: number;
  /** User + system CPU of the whole process (workload thread and handler) during each pass. */
  streamCpuNs: number;
  randomCpuNs: number;
  /** Pages moved out, and of those written back (they differed from the file), passes and flush included. */
  evicted: number;
  writtenBack: number;
  /** Most pages resident at once (C: exact; Faultline: at the evictor's looks). */
  maxResident: number;
}

export interface OocSideResult {
  /** Medians over rounds. */
  streamPagesPerSec: number;
  /** Pages brought in per second during the random pass. */
  randomPagesPerSec: number;
  /** Array updates per second during the random pass. */
  updatesPerSec: number;
  flushMs: number;
  faults: number;
  writtenBackBytes: number;
  evicted: number;
  maxResidentBytes: number;
  /** CPU per page of the array (stream pass) and per page brought in (random pass), ns. */
  streamCpuNsPerPage: number;
  randomCpuNsPerPage: number;
  /** Each round's stream and random pass time, ms, in the order run. */
  streamRoundsMs: number[];
  randomRoundsMs: number[];
}

export interface OocResult {
  name: string;
  group: string;
  description: string;
  fileBytes: number;
  budgetBytes: number;
  evictToBytes: number;
  updates: number;
  pageSize: number;
  c: OocSideResult | null;
  faultline: OocSideResult | null;
  /** Faultline / C: stream pages/s, and random-pass speed (C time / Faultline time: same updates on both). */
  streamRatio: number | null;
  randomRatio: number | null;
}

export interface OocShape {
  fileBytes: number;
  updates: number;
  pageSize: number;
}

export function summariseOocSide(samples: readonly OocSample[], shape: OocShape): OocSideResult {
  const pages = shape.fileBytes / shape.pageSize;
  const m = (f: (s: OocSample) => number): number => median(samples.map(f));
  return {
    streamPagesPerSec: m((s) => perSecond(pages, s.streamNs)),
    randomPagesPerSec: m((s) => perSecond(s.randomPagesIn, s.randomNs)),
    updatesPerSec: m((s) => perSecond(shape.updates, s.randomNs)),
    flushMs: m((s) => s.flushNs / 1e6),
    faults: m((s) => s.faults),
    writtenBackBytes: m((s) => s.writtenBack * shape.pageSize),
    evicted: m((s) => s.evicted),
    maxResidentBytes: m((s) => s.maxResident * shape.pageSize),
    streamCpuNsPerPage: m((s) => s.streamCpuNs / pages),
    randomCpuNsPerPage: m((s) => (s.randomPagesIn === 0 ? 0 : s.randomCpuNs / s.randomPagesIn)),
    streamRoundsMs: samples.map((s) => s.streamNs / 1e6),
    randomRoundsMs: samples.map((s) => s.randomNs / 1e6),
  };
}

export function oocResult(meta: Omit<OocResult, 'c' | 'faultline' | 'streamRatio' | 'randomRatio'>, c: OocSideResult | null, faultline: OocSideResult | null): OocResult {
  return {
    ...meta,
    c,
    faultline,
    streamRatio: ratio(faultline?.streamPagesPerSec, c?.streamPagesPerSec),
    randomRatio: ratio(faultline?.updatesPerSec, c?.updatesPerSec),
  };
}

/** --repeat: each side's pass rates and the ratios across runs. */
export interface OocSpread {
  name: string;
  sides: { side: 'c' | 'faultline'; streamPagesPerSec: Spread | null; randomPagesPerSec: Spread | null; streamCpuNsPerPage: Spread | null; randomCpuNsPerPage: Spread | null; writtenBackBytes: Spread | null }[];
  streamRatio: Spread | null;
  randomRatio: Spread | null;
}

export function summariseOocRuns(runs: readonly (readonly OocResult[])[]): OocSpread[] {
  const first = runs[0] ?? [];
  return first.map((r) => {
    const each = runs.map((run) => run.find((x) => x.name === r.name)).filter((x): x is OocResult => x !== undefined);
    return {
      name: r.name,
      sides: (['c', 'faultline'] as const).map((side) => ({
        side,
        streamPagesPerSec: spread(each.map((x) => x[side]?.streamPagesPerSec)),
        randomPagesPerSec: spread(each.map((x) => x[side]?.randomPagesPerSec)),
        streamCpuNsPerPage: spread(each.map((x) => x[side]?.streamCpuNsPerPage)),
        randomCpuNsPerPage: spread(each.map((x) => x[side]?.randomCpuNsPerPage)),
        writtenBackBytes: spread(each.map((x) => x[side]?.writtenBackBytes)),
      })),
      streamRatio: spread(each.map((x) => x.streamRatio)),
      randomRatio: spread(each.map((x) => x.randomRatio)),
    };
  });
}
