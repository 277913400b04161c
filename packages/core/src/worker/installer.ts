/**
 * Installs resolved pages with one ioctl and turns the kernel's answer into
 * what happens next. The kernel's traps, handled here:
 * - EEXIST does not wake the waiter: another thread installed the page first
 *   (two threads faulted on it, or readahead covered it), so we WAKE it.
 * - EAGAIN: the target's memory map is changing (an event such as REMOVE is
 *   pending, or a partial copy hit a page that appeared). The reader drains the
 *   event meanwhile; we retry a few times, then WAKE so the thread re-faults and
 *   a fresh message is delivered. Nothing stays parked.
 * - ENOENT / ESRCH: the range or the process is gone: drop.
 */
import native from '@faultline/native';
import { STAT, type StatsBlock } from '../region-stats.js';

const { EEXIST, EAGAIN, ENOENT, ESRCH } = native.constants;

/** How many times an install that met EAGAIN is retried before falling back to WAKE. */
const EAGAIN_RETRIES = 64;

export type InstallKind = 'copy' | 'zero' | 'poison' | 'continue';

export interface InstallOutcome {
  /** The faulting page is resolved (installed now, or already there and woken, or dropped). */
  ok: boolean;
  /** Negative errno when not ok. */
  errno: number;
}

const OK: InstallOutcome = { ok: true, errno: 0 };

export class Installer {
  constructor(
    private readonly stats: StatsBlock,
    private readonly pageSize: number,
  ) {}

  /**
   * Installs [address, address+length) of uffd `fd` for region `regionId`
   * (-1: no region, nothing counted). For 'copy', `source` holds the bytes (offset 0).
   */
  install(
    fd: number,
    regionId: number,
    kind: InstallKind,
    address: number,
    length: number,
    source: ArrayBufferView | null,
  ): InstallOutcome {
    const ps = this.pageSize;
    for (let attempt = 0; ; attempt++) {
      let res: number;
      switch (kind) {
        case 'copy':
          res = native.uffdCopy(fd, address, source!, 0, length, 0);
          break;
        case 'zero':
          res = native.uffdZeropage(fd, address, length, 0);
          break;
        case 'poison':
          res = native.uffdPoison(fd, address, ps, 0);
          break;
        case 'continue':
          res = native.uffdContinue(fd, address, ps, 0);
          break;
      }
      if (res > 0) {
        // Full or partial: the kernel installs in order, so >= one page means
        // the faulting page is in (and woken). A partial tail is left for later faults.
        const pages = Math.floor(res / ps);
        if (kind === 'poison') this.count(regionId, STAT.poisoned, pages);
        else this.count(regionId, STAT.pagesInstalled, pages);
        if (kind === 'zero') this.count(regionId, STAT.zeroFills, pages);
        return OK;
      }
      if (res === -EEXIST) {
        this.count(regionId, STAT.eexist);
        native.uffdWake(fd, address, ps);
        return OK;
      }
      if (res === -EAGAIN) {
        if (attempt < EAGAIN_RETRIES) continue;
        this.count(regionId, STAT.retries);
        native.uffdWake(fd, address, ps);
        return OK;
      }
      if (res === -ENOENT || res === -ESRCH) {
        this.count(regionId, STAT.dropped);
        return OK;
      }
      return { ok: false, errno: res };
    }
  }

  private count(regionId: number, stat: number, n = 1): void {
    if (regionId >= 0) this.stats.add(regionId, stat, n);
  }

  /** Re-delivery: wake the faulting thread without installing anything. */
  retry(fd: number, regionId: number, address: number): void {
    this.count(regionId, STAT.retries);
    native.uffdWake(fd, address, this.pageSize);
  }
}
