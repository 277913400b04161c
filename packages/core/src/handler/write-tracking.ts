/**
 * Write tracking for own regions (map `trackWrites`), in one of two modes:
 *
 * - 'async': the range is registered MISSING|WP on the handler's uffd, which
 *   has UFFD_FEATURE_WP_ASYNC, and every page is installed write-protected
 *   (installer.ts, the native path, prefetch). The first write to a protected
 *   page is then resolved by the kernel itself — no message, no worker — and
 *   the page reads as "written" in /proc/self/pagemap until it is protected
 *   again. dirtyPages() is one PAGEMAP_SCAN walk over the range (with reset:
 *   the same walk re-protects what it reports, so a concurrent write is in
 *   this answer or the next).
 * - 'sync' (kernels without WP_ASYNC, or asked for): the range is registered
 *   MISSING|WP on a second uffd of the handler, opened without WP_ASYNC
 *   (sync-wp-uffd.ts: the feature is per uffd, so it cannot be off for some
 *   ranges of the handler's own). The first write to a protected page raises
 *   a WP fault; a serve loop sets the page's bit in the region's dirty bitmap
 *   and lifts the protection. dirtyPages() reads the bitmap; a reset clears
 *   it and protects the reported pages again, with the faults held back
 *   meanwhile (shared/dirty-bitmap.ts says why that order loses no write).
 *
 * `trackWrites: true` is 'async' where the kernel offers it, else 'sync'.
 */
import { closeSync, openSync } from 'node:fs';
import native from '@faultline/native';
import { FaultlineError } from '../errors.js';
import type { FeatureName } from '../features.js';
import { createDirtyBitmap, readDirty, resetDirty } from '../shared/dirty-bitmap.js';
import type { TrackedRange } from './owner.js';

/** How a region's writes are tracked (Region.writeTracking). */
export type WriteTrackingMode = 'async' | 'sync';

/** What map() may ask for: true picks the mode (see modeFor). */
export type TrackWritesOption = boolean | WriteTrackingMode;

interface SyncRegion {
  fd: number;
  bits: Int32Array;
  pages: number;
}

export class WriteTracking {
  private pagemapFd = -1;
  /** Regions tracked in 'sync' mode, by region id: their uffd and bitmap. */
  private readonly syncRegions = new Map<number, SyncRegion>();

  /**
   * The mode a region asking for `asked` gets on this kernel; throws when it
   * cannot have it. `features`: those of the handler's uffd (WP_ASYNC, if
   * offered, is always asked for there); `offered`: what the kernel offers a
   * new uffd (the sync mode opens one).
   */
  modeFor(asked: true | WriteTrackingMode, features: readonly FeatureName[], offered: readonly FeatureName[], pageSize: number): WriteTrackingMode {
    if (pageSize !== native.pageSize()) {
      throw new FaultlineError('ERR_FAULTLINE_INVALID_ARGUMENT', 'trackWrites works on regions of the system page size, not huge pages');
    }
    const async = features.includes('wp-async');
    if (asked === 'async' && !async) {
      throw new FaultlineError(
        'ERR_FAULTLINE_FEATURE_UNSUPPORTED',
        "trackWrites: 'async' needs UFFD_FEATURE_WP_ASYNC (Linux 6.7+), which this kernel does not offer on the handler's uffd; " +
          "use trackWrites: 'sync' (a write-protect fault per first write) or true (picks what the kernel has)",
      );
    }
    const mode = asked === true ? (async ? 'async' : 'sync') : asked;
    if (mode === 'sync' && !offered.includes('wp')) {
      throw new FaultlineError(
        'ERR_FAULTLINE_FEATURE_UNSUPPORTED',
        'trackWrites needs userfaultfd write protection (UFFD_FEATURE_PAGEFAULT_FLAG_WP, Linux 5.7+), which this kernel does not offer',
      );
    }
    return mode;
  }

  /** A 'sync' region starts: its bitmap (give it to the serve loops) and the uffd its range is registered on. */
  addSync(regionId: number, fd: number, pages: number): SharedArrayBuffer {
    const sab = createDirtyBitmap(pages);
    this.syncRegions.set(regionId, { fd, bits: new Int32Array(sab), pages });
    return sab;
  }

  /** The uffd a 'sync' region is registered on; undefined: the handler's own. */
  uffdOf(regionId: number): number | undefined {
    return this.syncRegions.get(regionId)?.fd;
  }

  forget(regionId: number): void {
    this.syncRegions.delete(regionId);
  }

  dirtyPages(region: TrackedRange, reset: boolean): Uint32Array {
    this.assertTracked(region);
    const sync = this.syncRegions.get(region.id);
    if (sync) return this.syncDirty(region, sync, reset);
    const ranges = native.pagemapScanWritten(this.pagemap(), region.address, region.address + region.size, reset);
    let count = 0;
    for (let i = 0; i < ranges.length; i += 2) count += (ranges[i + 1]! - ranges[i]!) / region.pageSize;
    const pages = new Uint32Array(count);
    let k = 0;
    for (let i = 0; i < ranges.length; i += 2) {
      for (let a = ranges[i]!; a < ranges[i + 1]!; a += region.pageSize) pages[k++] = (a - region.address) / region.pageSize;
    }
    return pages;
  }

  /**
   * Write-protects the whole range (present pages; unpopulated ones are
   * protected by WP_UNPOPULATED or installed protected). 'sync': a reset
   * that protects every page (shared/dirty-bitmap.ts).
   */
  protectAll(ownFd: number, region: TrackedRange): void {
    this.assertTracked(region);
    const sync = this.syncRegions.get(region.id);
    if (sync) resetDirty(sync.bits, sync.pages, true, (first, count) => this.protectPages(sync.fd, region, first, count));
    else this.protect(ownFd, region, region.address, region.size);
  }

  close(): void {
    if (this.pagemapFd >= 0) closeSync(this.pagemapFd);
    this.pagemapFd = -1;
    this.syncRegions.clear();
  }

  /** Reads the bitmap; with reset, clears it and protects what it listed (shared/dirty-bitmap.ts). */
  private syncDirty(region: TrackedRange, sync: SyncRegion, reset: boolean): Uint32Array {
    if (!reset) return readDirty(sync.bits, sync.pages, false);
    return resetDirty(sync.bits, sync.pages, false, (first, count) => this.protectPages(sync.fd, region, first, count));
  }

  private protectPages(fd: number, region: TrackedRange, first: number, count: number): void {
    this.protect(fd, region, region.address + first * region.pageSize, count * region.pageSize);
  }

  private protect(fd: number, region: TrackedRange, address: number, length: number): void {
    const res = native.uffdWriteprotect(fd, address, length, native.constants.UFFDIO_WRITEPROTECT_MODE_WP);
    if (res < 0) {
      throw new FaultlineError('ERR_FAULTLINE_INSTALL_FAILED', `UFFDIO_WRITEPROTECT of region "${region.name}" failed with errno ${-res}`);
    }
  }

  private pagemap(): number {
    if (this.pagemapFd < 0) this.pagemapFd = openSync('/proc/self/pagemap', 'r');
    return this.pagemapFd;
  }

  private assertTracked(region: TrackedRange): void {
    if (!region.tracksWrites) {
      throw new FaultlineError('ERR_FAULTLINE_NOT_TRACKING', `region "${region.name}" does not track writes: map it with trackWrites: true`);
    }
  }
}
