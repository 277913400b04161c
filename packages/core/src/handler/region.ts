/** A region of this process's memory served by a resolver (see FaultHandler.map). */
import type { Mapping } from '@faultline/native';
import type { OnErrorPolicy } from '../events.js';
import type { RegionStats } from '../shared/region-stats.js';
import type { PrefetchReport, Trace } from '../trace/plan.js';
import { NO_PREFETCH, type RegionHost } from './owner.js';
import type { EvictionStats } from './evictors.js';
import type { WriteTrackingMode } from './write-tracking.js';

export class Region {
  /** The mapping as a SharedArrayBuffer: touching a page faults it in through the resolver. */
  readonly buffer: SharedArrayBuffer;
  /** Start address of the mapping. */
  readonly address: number;
  /** Bytes. */
  readonly size: number;
  private unmapped = false;

  constructor(
    private readonly host: RegionHost,
    /** Handler-wide region id (stats, 'error' events). */
    readonly id: number,
    readonly name: string,
    mapping: Mapping,
    /** Pages installed per fault. */
    readonly readahead: number,
    readonly onError: OnErrorPolicy,
    /** Bytes per page: the system's, or the huge page size it was mapped with. */
    readonly pageSize: number,
    /** The region's prefetch (map({ prefetch })), null without one. */
    private readonly prefetch: Promise<PrefetchReport> | null = null,
    /**
     * How writes are tracked (map `trackWrites`): 'async' (the kernel notes
     * them, UFFD_FEATURE_WP_ASYNC), 'sync' (a write-protect fault per first
     * write after a reset, served by the workers), null (not tracked).
     */
    readonly writeTracking: WriteTrackingMode | null = null,
    /**
     * backing 'memfd': the memfd's file descriptor (map it elsewhere with
     * mmap MAP_SHARED, or send it to another process); -1 otherwise. The
     * handler closes it at unmap() or close(): dup it to keep it longer.
     */
    readonly memfd = -1,
  ) {
    this.buffer = mapping.buffer;
    this.address = mapping.address;
    this.size = mapping.length;
  }

  /** Mapped with trackWrites: dirtyPages() and trackWrites() work. */
  get tracksWrites(): boolean {
    return this.writeTracking !== null;
  }

  /** Counters for this region (faults, pages installed, resolver calls, ...). */
  stats(): RegionStats {
    return this.host.regionStats(this.id);
  }

  /**
   * The first touches recorded so far (map with `record: true`): page
   * indexes in first-touch order and their times. Read it before unmap().
   * Save it with writeTrace(); prefetch it with map({ prefetch }).
   */
  trace(): Trace {
    return this.host.trace(this.id, this.name);
  }

  /**
   * Page indexes written since the region was mapped, or since the last
   * reset (map with `trackWrites`), in address order. `reset: true` reads
   * and clears at once: a write that lands during the call is in this
   * answer or the next, never lost (a write racing the reset may show in
   * both), in either mode (docs/memory.md).
   */
  dirtyPages(options: { reset?: boolean } = {}): Uint32Array {
    return this.host.dirtyPages(this, options.reset === true);
  }

  /** Forgets every write so far: from now on only new writes count (dirtyPages). */
  trackWrites(): void {
    this.host.protectAll(this);
  }

  /** What eviction did (map with maxResident); null for a region without a budget. */
  evictionStats(): EvictionStats | null {
    return this.host.evictionStats(this.id);
  }

  /**
   * Evicts every resident page (map with maxResident), writing back the ones
   * that changed (writeback): afterwards the store holds everything the
   * region was given. Pages fault back in as needed. Rejects with
   * ERR_FAULTLINE_WRITEBACK_FAILED when the store refused a write during the
   * flush's pass (the pages stay in memory; the 'error' event says the same).
   */
  async flush(): Promise<void> {
    await this.host.flush(this.id);
  }

  /** Resolves when the region's prefetch (map({ prefetch })) is over, with what it did. */
  async prefetched(): Promise<PrefetchReport> {
    return (await this.prefetch) ?? { ...NO_PREFETCH };
  }

  /**
   * Stops serving the region: pending faults are answered first, then the range
   * is unregistered. The buffer stays valid; pages never touched read as zero.
   */
  async unmap(): Promise<void> {
    if (this.unmapped) return;
    this.unmapped = true;
    await this.host.unmapRegion(this.id);
  }
}
