/** A region of this process's memory served by a resolver (see FaultHandler.map). */
import type { Mapping } from '@faultline/native';
import native from '@faultline/native';
import type { FaultHandler } from './handler.js';
import type { RegionStats } from './region-stats.js';

export class Region {
  /** The mapping as a SharedArrayBuffer: touching a page faults it in through the resolver. */
  readonly buffer: SharedArrayBuffer;
  /** Start address of the mapping. */
  readonly address: number;
  /** Bytes. */
  readonly size: number;
  private unmapped = false;

  /** @internal created by FaultHandler.map() */
  constructor(
    private readonly handler: FaultHandler,
    /** Handler-wide region id (stats, 'error' events). */
    readonly id: number,
    readonly name: string,
    mapping: Mapping,
    /** Pages installed per fault. */
    readonly readahead: number,
    readonly onError: 'sigbus' | 'zero',
  ) {
    this.buffer = mapping.buffer;
    this.address = mapping.address;
    this.size = mapping.length;
  }

  get pageSize(): number {
    return this.handler.pageSize;
  }

  /** Counters for this region (faults, pages installed, resolver calls, ...). */
  stats(): RegionStats {
    return this.handler.regionStats(this.id);
  }

  /**
   * Stops serving the region: pending faults are answered first, then the range
   * is unregistered. The buffer stays valid; pages never touched read as zero.
   */
  async unmap(): Promise<void> {
    if (this.unmapped) return;
    this.unmapped = true;
    await this.handler.unmapRegion(this);
  }

  /** @internal FaultHandler.close(): unregister without the per-region bookkeeping. */
  unregisterForClose(uffdFd: number): void {
    if (this.unmapped) return;
    this.unmapped = true;
    try {
      native.uffdUnregister(uffdFd, this.address, this.size);
    } catch {
      // the uffd is about to be closed, which unregisters everything anyway
    }
  }
}
