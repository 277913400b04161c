/**
 * What a recording produces (Trace) and what a prefetch consumes
 * (PrefetchPlan): the working set of one region, as page indexes in the
 * region's resolver space in first-touch order. A Trace is a PrefetchPlan;
 * readTrace() adds where the pages' bytes are stored, when the trace file
 * carries them.
 */
import { invalidArgument } from '../errors.js';

export interface PrefetchPlan {
  /** Bytes per page of the recorded region. */
  pageSize: number;
  /** Page indexes (resolver offset / pageSize, counted from the region's `offset`), in the order to install them. */
  pages: Uint32Array;
  /**
   * Where the pages' bytes are, stored contiguously in `pages` order (a trace
   * file written with `memFile`): one sequential read. Without it the region's
   * resolver produces them.
   */
  data?: { path: string; offset: number };
}

/** A region's recorded first touches. */
export interface Trace extends PrefetchPlan {
  /** Bytes of the recorded region. */
  size: number;
  /** Resolver offset of the region's first byte (adopt's `offset`; 0 for map()). */
  offset: number;
  /** Microseconds from the start of recording to each page's first touch. */
  timesUs: Uint32Array;
  /** False when the handler's trace buffer (traceCapacity) filled up: later first touches are missing. */
  complete: boolean;
}

/** What a prefetch did: `installed + alreadyPresent + cancelled + failed === pages`. */
export interface PrefetchReport {
  /** Pages in the plan. */
  pages: number;
  /** Pages this prefetch installed. */
  installed: number;
  /**
   * Of `installed`: pages that demand faults installed from the plan's page
   * data — a demand fault on a plan page installs it (a demand install, in
   * the region's counters) and the plan's next unclaimed pages after it (the
   * native prefetch only; 0 for the JS one). High when the process keeps
   * catching up with the prefetch thread, as on one CPU.
   */
  installedOnFaults: number;
  /** Pages a demand fault (or anything else) had installed first: skipped, not an error. */
  alreadyPresent: number;
  /** Pages not installed because the range went away or was discarded (unmap, REMOVE, UNMAP, close). */
  cancelled: number;
  /** Pages whose bytes could not be produced (resolver error, short data): left to demand faults. */
  failed: number;
  /** Wall time from start to the last install, ms. */
  ms: number;
  /** Wall time until the working set (the plan) was installed, ms; with fill: 'all' the rest came after. */
  workingSetMs: number;
  /** The first failure, if any (the pages are served on demand instead). */
  error?: { code: string; message: string };
}

/** What a region installs in the background (map/adopt `fill`). */
export type FillMode = 'lazy' | 'working-set' | 'all';
const FILL_MODES: readonly FillMode[] = ['lazy', 'working-set', 'all'];

/** `fill` and `fillRate` with their defaults (`where`: 'regions[i].' for adopt). */
export function checkFill(where: string, o: { prefetch?: unknown; fill?: unknown; fillRate?: unknown }): { fill: FillMode; fillRate: number } {
  const hasPlan = o.prefetch !== undefined && o.prefetch !== null;
  const fill = o.fill ?? (hasPlan ? 'working-set' : 'lazy');
  if (typeof fill !== 'string' || !FILL_MODES.includes(fill as FillMode)) {
    throw invalidArgument(`${where}fill must be one of ${FILL_MODES.map((m) => `'${m}'`).join(', ')}, got ${JSON.stringify(fill)}`);
  }
  if (fill === 'working-set' && !hasPlan) {
    throw invalidArgument(`${where}fill: 'working-set' needs ${where}prefetch (the recorded working set: readTrace(path).regions[i])`);
  }
  if (fill === 'lazy' && hasPlan) {
    throw invalidArgument(`${where}fill: 'lazy' installs nothing in the background: drop ${where}prefetch, or use 'working-set'`);
  }
  const fillRate = o.fillRate ?? 0;
  if (typeof fillRate !== 'number' || !Number.isFinite(fillRate) || fillRate < 0) {
    throw invalidArgument(`${where}fillRate must be bytes per second (a non-negative number; 0: no limit), got ${String(fillRate)}`);
  }
  if (fillRate > 0 && fill !== 'all') throw invalidArgument(`${where}fillRate limits fill: 'all' only; set fill: 'all'`);
  return { fill: fill as FillMode, fillRate };
}

/** Checks map()/adopt()'s `prefetch` against the region it is for. */
export function checkPrefetchPlan(name: string, value: unknown, pageSize: number, size: unknown): PrefetchPlan | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object') {
    throw invalidArgument(`${name} must be a trace (region.trace(), or readTrace(path).regions[i]), got ${typeof value}`);
  }
  const plan = value as Partial<PrefetchPlan>;
  if (!(plan.pages instanceof Uint32Array)) {
    throw invalidArgument(`${name}.pages must be a Uint32Array of page indexes (as region.trace() and readTrace() give)`);
  }
  if (plan.pageSize !== pageSize) {
    throw invalidArgument(`${name} was recorded with ${String(plan.pageSize)}-byte pages but this region has ${pageSize}-byte pages`);
  }
  const pages = typeof size === 'number' ? Math.floor(size / pageSize) : Infinity;
  let max = -1;
  for (const p of plan.pages) if (p > max) max = p;
  if (max >= pages) {
    throw invalidArgument(`${name} lists page ${max}, beyond this region's ${pages} pages: is it the trace of another region?`);
  }
  if (plan.data !== undefined) {
    const d = plan.data;
    if (typeof d !== 'object' || d === null || typeof d.path !== 'string' || !Number.isSafeInteger(d.offset) || d.offset < 0) {
      throw invalidArgument(`${name}.data must be { path: string, offset: non-negative integer }`);
    }
  }
  return { pageSize, pages: plan.pages, ...(plan.data ? { data: { path: plan.data.path, offset: plan.data.offset } } : {}) };
}
