/**
 * Every ioctl the fault path makes, and what the kernel's answer means for
 * the faulting thread. The kernel's traps, handled here:
 * - EEXIST does not wake the waiter: another thread installed the page first
 *   (two threads faulted on it, or readahead covered it), so we WAKE it.
 * - EAGAIN: the target's memory map is changing (an event such as REMOVE is
 *   pending, or a partial copy hit a page that appeared). The reader drains the
 *   event meanwhile; we retry a few times, then WAKE so the thread re-faults and
 *   a fresh message is delivered. Nothing stays parked.
 * - ENOENT / ESRCH: the range or the process is gone: drop.
 * - 'move' (install: 'move'): UFFDIO_MOVE takes the scratch's pages
 *   themselves. It needs them present, private and not shared (EBUSY, ENOENT
 *   for a hole otherwise), and refuses across processes; any such refusal
 *   falls back to COPY from the same scratch, which MOVE left untouched. The
 *   moved-out scratch pages fault back in, zeroed, when the scratch is next
 *   written: that refill is MOVE's price for saving the copy.
 */
import native from '@faultline/native';
import { STAT, type StatsBlock } from '../shared/region-stats.js';

const { EEXIST, EAGAIN, ENOENT, ESRCH, UFFDIO_COPY_MODE_WP: COPY_MODE_WP } = native.constants;

/** How many times an install that met EAGAIN is retried before falling back to WAKE. */
const EAGAIN_RETRIES = 64;

export type InstallKind = 'copy' | 'move' | 'zero' | 'poison' | 'continue';

/**
 * Installs for one worker; `regionId` -1 means "no region": nothing is
 * counted. `pageSize` is the range's (the system's, or a huge page size on
 * hugetlbfs).
 */
export interface FaultInstaller {
  /**
   * Installs [address, address + length) of uffd `fd` (for 'copy' and
   * 'move', from `source` at offset 0; 'move' takes `source`'s pages, which
   * must be private anonymous memory of this process: the worker's scratch). Returns 0 when the faulting page is resolved
   * (installed now, already there and woken, or its range is gone), else the
   * negative errno of the failure: the caller applies its failure policy.
   */
  install(
    fd: number,
    regionId: number,
    kind: InstallKind,
    address: number,
    length: number,
    source: ArrayBufferView | null,
    pageSize: number,
    /** Install write-protected (a write-tracked region). */
    writeProtect?: boolean,
  ): number;
  /** Re-delivery: wakes the faulting thread without installing; it faults again. */
  retry(fd: number, regionId: number, address: number, pageSize: number): void;
  /** Lifts write protection from the page (a write-protect fault); wakes the thread. */
  unprotect(fd: number, regionId: number, address: number, pageSize: number): void;
  /** Wakes the page's waiters when nothing else could be done (a last resort, never an answer). */
  wake(fd: number, address: number, pageSize: number): void;
}

/** The addon's install ioctls (tests pass stand-ins that answer with chosen errnos). */
export type UffdIoctls = Pick<
  typeof native,
  'uffdCopy' | 'uffdZeropage' | 'uffdPoison' | 'uffdContinue' | 'uffdWake' | 'uffdWriteprotect' | 'uffdMove' | 'viewAddress'
>;

export class Installer implements FaultInstaller {
  /** Zeros for huge pages (hugetlbfs has no UFFDIO_ZEROPAGE: zero pages are copied from here). */
  private zeros: Uint8Array | null = null;

  constructor(
    private readonly stats: StatsBlock,
    /** The system's page size: ranges with larger pages are hugetlbfs. */
    private readonly systemPageSize: number,
    private readonly ioctl: UffdIoctls = native,
  ) {}

  install(
    fd: number,
    regionId: number,
    kind: InstallKind,
    address: number,
    length: number,
    source: ArrayBufferView | null,
    ps: number,
    writeProtect = false,
  ): number {
    const ioctl = this.ioctl;
    // A write-tracked region's pages go in write-protected, so the first write to each is seen (WP_ASYNC).
    const copyMode = writeProtect ? COPY_MODE_WP : 0;
    for (let attempt = 0; ; attempt++) {
      let res: number;
      switch (kind) {
        case 'copy':
          res = ioctl.uffdCopy(fd, address, source!, 0, length, copyMode);
          break;
        case 'move':
          res = ioctl.uffdMove(fd, address, ioctl.viewAddress(source!), length, 0);
          // Refused (a hole, a shared or pinned page, not our mm): nothing moved, the scratch still holds it all.
          if (res < 0 && res !== -EEXIST && res !== -EAGAIN) {
            kind = 'copy';
            attempt--;
            continue;
          }
          break;
        case 'zero':
          // ZEROPAGE has no write-protect mode, and hugetlbfs has no ZEROPAGE: both copy zeros instead.
          res =
            ps === this.systemPageSize && !writeProtect
              ? ioctl.uffdZeropage(fd, address, length, 0)
              : ioctl.uffdCopy(fd, address, this.zerosOf(length), 0, length, copyMode);
          break;
        case 'poison':
          res = ioctl.uffdPoison(fd, address, ps, 0);
          break;
        case 'continue':
          res = ioctl.uffdContinue(fd, address, length, 0);
          break;
      }
      if (res > 0) {
        // Full or partial: the kernel installs in order, so >= one page means
        // the faulting page is in (and woken). A partial tail is left for later faults.
        const pages = Math.floor(res / ps);
        if (kind === 'poison') this.count(regionId, STAT.poisoned, pages);
        else this.count(regionId, STAT.pagesInstalled, pages);
        if (kind === 'zero') this.count(regionId, STAT.zeroFills, pages);
        else if (kind === 'continue') this.count(regionId, STAT.continued, pages);
        else if (kind === 'move') this.count(regionId, STAT.moved, pages);
        return 0;
      }
      if (res === -EEXIST) {
        this.count(regionId, STAT.eexist);
        ioctl.uffdWake(fd, address, ps);
        return 0;
      }
      if (res === -EAGAIN) {
        if (attempt < EAGAIN_RETRIES) continue;
        this.count(regionId, STAT.retries);
        ioctl.uffdWake(fd, address, ps);
        return 0;
      }
      if (res === -ENOENT || res === -ESRCH) {
        this.count(regionId, STAT.dropped);
        return 0;
      }
      return res;
    }
  }

  retry(fd: number, regionId: number, address: number, pageSize: number): void {
    this.count(regionId, STAT.retries);
    this.ioctl.uffdWake(fd, address, pageSize);
  }

  unprotect(fd: number, _regionId: number, address: number, pageSize: number): void {
    // Mode 0 clears the protection and wakes the thread.
    this.ioctl.uffdWriteprotect(fd, address, pageSize, 0);
  }

  wake(fd: number, address: number, pageSize: number): void {
    this.ioctl.uffdWake(fd, address, pageSize);
  }

  private zerosOf(length: number): Uint8Array {
    if (this.zeros === null || this.zeros.length < length) this.zeros = new Uint8Array(native.mapAnonymous(length).buffer);
    return this.zeros.subarray(0, length);
  }

  private count(regionId: number, stat: number, n = 1): void {
    if (regionId >= 0) this.stats.add(regionId, stat, n);
  }
}
