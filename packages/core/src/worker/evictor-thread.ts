/**
 * Eviction with writeback for one own region (map `maxResident`): keeps its
 * resident pages under the budget, in the background, without stopping
 * the faults.
 *
 * When the region's installs pass `maxResident` pages, a clock hand sweeps
 * the resident pages (PAGEMAP_SCAN) and evicts them down to `target`, one
 * run at a time:
 *
 *   1. the run is published as "being evicted" (a SharedArrayBuffer the
 *      serve loops read: a fault on it is re-delivered until step 4);
 *   2. its pages are taken out with UFFDIO_MOVE into a staging buffer — an
 *      atomic step, so a concurrent write lands either in the moved page or,
 *      after the move, as a fault; MADV_DONTNEED instead could drop a write
 *      made between the copy and the drop;
 *   3. with writeback, each moved page is compared with what the resolver
 *      would give for it and the ones that differ are written back through
 *      resolver.write() (runs coalesced);
 *   4. the run is released: its faults now resolve to the written-back bytes.
 *
 * Faults are answered by the serve loops as always; nothing here is on the
 * fault path but the marker check. Readahead is 1 in such regions (a
 * readahead run could otherwise re-install a page being evicted from bytes
 * read before its writeback).
 */
import { closeSync, openSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import native from '@faultline/native';
import { codeOf } from '../errors.js';
import { WRITEBACK_RETRY_MS } from '../handler/eviction-policy.js';
import type { PageResolver, ResolveResult, ResolverInfo, ResolverSpec } from '../resolver.js';
import { STAT, STAT_COUNT } from '../shared/region-stats.js';
import { moveRunOut } from './move-run-out.js';
import { ResolverRegistry } from './resolver-registry.js';
import { M_ACTIVE, M_END, M_EVICTED, M_FIRST, M_WAKE, publishAndMove, residentPages, wakeRoomWaiters } from '../shared/eviction-marker.js';

export interface EvictorJob {
  uffdFd: number;
  regionId: number;
  address: number;
  size: number;
  pageSize: number;
  /** Evict when more pages than this are resident... */
  maxPages: number;
  /** ...down to this many. */
  targetPages: number;
  writeback: boolean;
  resolver: { spec: ResolverSpec; info: ResolverInfo };
  /** Int32Array: [0] stop, [1] unused, [2] flush requests, [3] flushes done (wake-ups go through the marker). */
  controlSab: SharedArrayBuffer;
  /**
   * The eviction marker (Int32Array, shared with the serve loops; layout in
   * shared/eviction-marker.ts): the run being evicted, pages evicted so far,
   * the hard cap, and the word the evictor sleeps on.
   */
  markerSab: SharedArrayBuffer;
  /** Float64Array: [0] pages evicted, [1] pages written back, [2] eviction passes, [3] most pages resident seen. */
  countersSab: SharedArrayBuffer;
  /** The handler's region counters (pagesInstalled tells when to look). */
  statsSab: SharedArrayBuffer;
  /** A buffer registered on the uffd (UFFDIO_MOVE needs its destination registered), runPages long. */
  staging: number;
  /** The same buffer, to read the moved pages. */
  stagingBuffer: SharedArrayBuffer;
  runPages: number;
  intervalMs: number;
}

const { UFFDIO_MOVE_MODE_DONTWAKE } = native.constants;
const MADV_DONTNEED = 4;

class Evictor {
  private readonly control: Int32Array;
  private readonly marker: Int32Array;
  private readonly counters: Float64Array;
  private readonly stats: Int32Array;
  private readonly pagemapFd: number;
  private readonly ps: number;
  private hand = 0;
  /** The flush request the pass in progress serves (0: a background pass); sent with a failed writeback. */
  private servingFlush = 0;
  /** After a failed writeback: no eviction before this time (Date.now()). */
  private pausedUntil = 0;
  private installedSeen = 0;
  private readonly registry = new ResolverRegistry();
  private resolver!: PageResolver;
  private readonly store: Uint8Array;

  constructor(private readonly job: EvictorJob) {
    this.control = new Int32Array(job.controlSab);
    this.marker = new Int32Array(job.markerSab);
    this.counters = new Float64Array(job.countersSab);
    this.stats = new Int32Array(job.statsSab);
    this.pagemapFd = openSync('/proc/self/pagemap', 'r');
    this.ps = job.pageSize;
    this.store = new Uint8Array(job.runPages * this.ps);
  }

  async load(): Promise<void> {
    const { spec, info } = this.job.resolver;
    await this.registry.load(this.job.regionId, spec, info, { resolveTimeoutMs: 60_000, retries: 0 });
    this.resolver = this.registry.get(this.job.regionId)!;
    if (this.job.writeback && typeof this.resolver.write !== 'function') {
      throw Object.assign(new Error(`the resolver of region "${info.name}" has no write(offset, bytes): writeback needs one (resolvers.file(path, { writable: true }))`), {
        code: 'ERR_FAULTLINE_INVALID_ARGUMENT',
      });
    }
  }

  async run(): Promise<void> {
    const { control } = this;
    while (Atomics.load(control, 0) === 0) {
      const wake = Atomics.load(this.marker, M_WAKE);
      const flush = Atomics.load(control, 2);
      if (flush !== Atomics.load(control, 3)) {
        this.servingFlush = flush;
        await this.evict(Number.MAX_SAFE_INTEGER, true);
        this.servingFlush = 0;
        Atomics.store(control, 3, flush);
        parentPort!.postMessage({ type: 'flushed', seq: flush });
        continue;
      }
      const resident = this.resident();
      if (resident > this.job.maxPages && Date.now() >= this.pausedUntil) await this.evict(resident - this.job.targetPages);
      // Sleep until a fault finds the region over its cap (it wakes us), or look again soon.
      native.futexWait(this.marker, M_WAKE, wake, this.resident() > (this.job.maxPages * 7) / 8 ? 1 : this.job.intervalMs);
    }
  }

  /**
   * Pages resident now, from the counters (pages installed minus pages
   * moved out: one page per install in such a region), so looking costs
   * nothing.
   */
  private resident(): number {
    const resident = residentPages(this.marker, Atomics.load(this.stats, this.job.regionId * STAT_COUNT + STAT.pagesInstalled) >>> 0);
    if (resident > this.counters[3]!) this.counters[3] = resident;
    return resident;
  }

  /**
   * Evicts resident pages, sweeping from the clock hand, until `want` are out (a flush) or,
   * otherwise, until no more than targetPages are resident now: faults go on during a pass,
   * and counting them ends it at the low-water mark, as the native evictor and the bench's
   * C reference do.
   */
  private async evict(want: number, flush = false): Promise<void> {
    const { address, size } = this.job;
    const pages = size / this.ps;
    // Resident ranges from the hand to the end, then from the start to the hand.
    const tail = native.pagemapScanPresent(this.pagemapFd, address + this.hand * this.ps, address + size);
    const head = this.hand > 0 ? native.pagemapScanPresent(this.pagemapFd, address, address + this.hand * this.ps) : new Float64Array(0);
    this.counters[2]!++;
    for (const ranges of [tail, head]) {
      for (let i = 0; i < ranges.length && want > 0; i += 2) {
        let first = (ranges[i]! - address) / this.ps;
        const end = (ranges[i + 1]! - address) / this.ps;
        while (first < end && want > 0) {
          const n = Math.min(end - first, this.job.runPages, want);
          const out = await this.evictRun(first, n);
          want = flush ? want - out : this.resident() - this.job.targetPages;
          first += n;
          if (Date.now() < this.pausedUntil) return; // a writeback failed: rest
          this.hand = first % pages;
          if (Atomics.load(this.control, 0) !== 0) return;
        }
      }
    }
  }

  /** Steps 1-4 above for pages [first, first + n); returns the pages evicted. */
  private async evictRun(first: number, n: number): Promise<number> {
    const { ps, marker, job } = this;
    const moved = new Uint8Array(n);
    let evicted = 0;
    try {
      // Published and moved out inside the marker's gate: an install either sees the run, or went in
      // before the move and its page goes out with the run (eviction-marker.ts enterInstallGate).
      publishAndMove(marker, () => {
        Atomics.store(marker, M_FIRST, first);
        Atomics.store(marker, M_END, first + n);
        Atomics.store(marker, M_ACTIVE, 1);
        // Move what is there (a page may have gone since the scan only by our own hand; holes stay).
        // Which pages went is read back from the slots when an answer was short (move-run-out.ts).
        evicted = moveRunOut(
          (dst, src, length) => native.uffdMove(job.uffdFd, dst, src, length, UFFDIO_MOVE_MODE_DONTWAKE),
          (start, end) => native.pagemapScanPresent(this.pagemapFd, start, end),
          job.staging,
          job.address + first * ps,
          n,
          ps,
          moved,
        );
      });
      if (evicted === 0) return 0;
      if (job.writeback) {
        try {
          await this.writeBack(first, n, moved);
        } catch (err) {
          // The store refused: put the pages back where they were (nothing is lost), say so, and
          // leave the region alone for a while rather than fail again at once.
          this.putBack(first, n, moved);
          this.pausedUntil = Date.now() + WRITEBACK_RETRY_MS;
          parentPort!.postMessage({
            type: 'error',
            seq: this.servingFlush, // a flush's pass failed (0: a background pass)
            error: {
              code: 'ERR_FAULTLINE_WRITEBACK_FAILED',
              message:
                `writing back pages ${first}..${first + n - 1} of region "${job.resolver.info.name}" failed ` +
                `(${codeOf(err, 'ERR_FAULTLINE_RESOLVER_FAILED')}: ${(err as Error)?.message ?? String(err)}); ` +
                `they stay in memory, eviction resumes in ${WRITEBACK_RETRY_MS} ms`,
            },
          });
          return 0;
        }
      }
      this.counters[0]! += evicted;
      // Faults waiting for room (backpressure) look again.
      Atomics.add(marker, M_EVICTED, evicted);
      wakeRoomWaiters(marker);
      return evicted;
    } finally {
      Atomics.store(marker, M_ACTIVE, 0);
      native.madvise(job.staging, n * ps, MADV_DONTNEED);
    }
  }

  /** Moves the run's pages back from staging (a failed writeback): they are as they were, resident. */
  private putBack(first: number, n: number, moved: Uint8Array): void {
    const { ps, job } = this;
    for (let k = 0; k < n; k++) {
      if (!moved[k]) continue;
      const slot = job.staging + k * ps;
      const res = native.uffdMove(job.uffdFd, job.address + (first + k) * ps, slot, ps, 0);
      // A refusal is believed only if the page is still in its slot (move-run-out.ts: a move can be reported refused and done).
      if (res !== ps && native.pagemapScanPresent(this.pagemapFd, slot, slot + ps).length > 0) {
        // Cannot happen while the run is marked (its faults wait); if it does, the bytes must not be lost silently.
        native.writeStderr(`faultline: could not move page ${first + k} of region "${job.resolver.info.name}" back after a failed writeback (errno ${-res})\n`);
      }
    }
  }

  /** Writes back the moved pages whose bytes differ from what the resolver gives. */
  private async writeBack(first: number, n: number, moved: Uint8Array): Promise<void> {
    const { ps, job } = this;
    // Compared and written where they are: every page read here was moved in, so none of them faults.
    const staged = new Uint8Array(job.stagingBuffer, 0, n * ps);
    const store = this.store.subarray(0, n * ps);
    store.fill(0);
    const request = { offset: first * ps, length: n * ps, address: job.address + first * ps, write: false, minor: false, pageSize: ps, regionId: job.regionId, uffdId: -1 };
    const answer: ResolveResult = await this.resolver.resolve(request, store);
    const current = answerBytes(answer, store, n * ps);
    for (let k = 0; k < n; ) {
      if (!moved[k] || (current && equalPage(staged, current, k, ps))) {
        k++;
        continue;
      }
      let m = 1;
      while (k + m < n && moved[k + m] && !(current && equalPage(staged, current, k + m, ps))) m++;
      await this.resolver.write!((first + k) * ps, staged.subarray(k * ps, (k + m) * ps));
      this.counters[1]! += m;
      k += m;
    }
  }

  close(): void {
    closeSync(this.pagemapFd);
  }

  async drop(): Promise<void> {
    await this.registry.dropAll();
  }
}

/** The bytes a resolve() answer stands for; null when it is not plain bytes (then every moved page is written back). */
function answerBytes(answer: ResolveResult, out: Uint8Array, length: number): Uint8Array | null {
  if (answer === undefined || answer === null || answer === 'zero') return out;
  if (typeof answer === 'object' && 'source' in answer && ArrayBuffer.isView(answer.source) && answer.source.byteLength >= length) {
    return new Uint8Array(answer.source.buffer, answer.source.byteOffset, length);
  }
  if (typeof answer === 'object' && 'filled' in answer && answer.filled >= length) return out;
  return null;
}

function equalPage(a: Uint8Array, b: Uint8Array, k: number, ps: number): boolean {
  return Buffer.compare(a.subarray(k * ps, (k + 1) * ps), b.subarray(k * ps, (k + 1) * ps)) === 0;
}

const job = workerData as EvictorJob;
const evictor = new Evictor(job);
evictor
  .load()
  .then(
    async () => {
      parentPort!.postMessage({ type: 'ready' });
      await evictor.run();
      parentPort!.postMessage({ type: 'stopped' });
    },
    (err: unknown) =>
      parentPort!.postMessage({ type: 'failed', error: { code: codeOf(err, 'ERR_FAULTLINE_RESOLVER_LOAD'), message: (err as Error)?.message ?? String(err) } }),
  )
  .finally(async () => {
    evictor.close();
    await evictor.drop();
  });
