/**
 * Write tracking for own regions (map `trackWrites`): the range is
 * registered MISSING|WP on the handler's uffd, which has UFFD_FEATURE_WP_ASYNC,
 * and every page is installed write-protected (installer.ts, the native path,
 * prefetch). The first write to a protected page is then resolved by the
 * kernel itself — no message, no worker — and the page reads as "written" in
 * /proc/self/pagemap until it is protected again. dirtyPages() is one
 * PAGEMAP_SCAN walk over the range (with reset: the same walk re-protects
 * what it reports, so a concurrent write is in this answer or the next).
 */
import { closeSync, openSync } from 'node:fs';
import native from '@faultline/native';
import { FaultlineError } from '../errors.js';
import type { FeatureName } from '../features.js';
import type { TrackedRange } from './owner.js';

export class WriteTracking {
  private pagemapFd = -1;

  /** map() with trackWrites: the handler's uffd must have WP_ASYNC, and the region 4 KiB pages. */
  check(features: readonly FeatureName[], pageSize: number): void {
    if (!features.includes('wp-async')) {
      throw new FaultlineError(
        'ERR_FAULTLINE_FEATURE_UNSUPPORTED',
        'trackWrites needs UFFD_FEATURE_WP_ASYNC (Linux 6.7+), which this kernel does not offer on the handler\'s uffd',
      );
    }
    if (pageSize !== native.pageSize()) {
      throw new FaultlineError('ERR_FAULTLINE_INVALID_ARGUMENT', 'trackWrites works on regions of the system page size, not huge pages');
    }
  }

  dirtyPages(region: TrackedRange, reset: boolean): Uint32Array {
    this.assertTracked(region);
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

  /** Write-protects the whole range (present pages; unpopulated ones are protected by WP_UNPOPULATED). */
  protectAll(fd: number, region: TrackedRange): void {
    this.assertTracked(region);
    const res = native.uffdWriteprotect(fd, region.address, region.size, native.constants.UFFDIO_WRITEPROTECT_MODE_WP);
    if (res < 0) {
      throw new FaultlineError('ERR_FAULTLINE_INSTALL_FAILED', `UFFDIO_WRITEPROTECT of region "${region.name}" failed with errno ${-res}`);
    }
  }

  close(): void {
    if (this.pagemapFd >= 0) closeSync(this.pagemapFd);
    this.pagemapFd = -1;
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
