/**
 * What a Region or an AdoptedUffd needs from the handler that serves it. The
 * handler passes an object implementing this (not itself), so these calls are
 * not part of FaultHandler's public API and region.ts / adopted.ts do not
 * import handler.ts.
 */
import type { RegionStats } from '../shared/region-stats.js';
import type { PrefetchReport, Trace } from '../trace/plan.js';
import type { EvictionStats } from './evictors.js';

/** A write-tracked range of this process. */
export interface TrackedRange {
  /** Handler-wide region id. */
  readonly id: number;
  readonly name: string;
  readonly address: number;
  readonly size: number;
  readonly pageSize: number;
  readonly tracksWrites: boolean;
}

export interface RegionHost {
  readonly pageSize: number;
  /** Counters of region `regionId`. */
  regionStats(regionId: number): RegionStats;
  /** Answers what is pending for the region, unregisters it and forgets it. */
  unmapRegion(regionId: number): Promise<void>;
  /** Stops serving adopted uffd `uffdId` (and its fork children) and closes their fds. */
  releaseAdopted(uffdId: number): Promise<void>;
  /** Region `regionId`'s first touches so far (it must record). */
  trace(regionId: number, name: string): Trace;
  /** Page indexes of `region` written since it was mapped or last reset (map `trackWrites`). */
  dirtyPages(region: TrackedRange, reset: boolean): Uint32Array;
  /** Write-protects every page of `region`: from now on nothing counts as written. */
  protectAll(region: TrackedRange): void;
  /** What region `regionId`'s evictor did (null: it does not evict). */
  evictionStats(regionId: number): EvictionStats | null;
  /** Evicts every resident page of region `regionId` (writing back what changed). */
  flush(regionId: number): Promise<void>;
}

/** What prefetched() says of a region that was not asked to prefetch. */
export const NO_PREFETCH: PrefetchReport = { pages: 0, installed: 0, installedOnFaults: 0, alreadyPresent: 0, cancelled: 0, failed: 0, ms: 0, workingSetMs: 0 };
