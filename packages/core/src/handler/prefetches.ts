/**
 * The handler's running prefetches, one per region that asked for one. A
 * working set whose pages the trace file carries (the restore case) is
 * installed by a native thread (native serve/prefetcher.cc), which starts in
 * microseconds and races the restored process's first faults; anything that
 * needs the resolver (no page data, fill: 'all') runs in a JS thread
 * (worker/prefetch-thread.ts) that loads it. Either is stopped before its
 * region is unregistered or its uffd closed: a prefetch must never install
 * into a range that is no longer served, or through an fd number that was
 * reused.
 */
import { closeSync, openSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import native from '@faultline/native';
import type { PrefetchReport } from '../trace/plan.js';
import type { PrefetchJob } from '../worker/prefetch-thread.js';

/** A prefetch's job without what the handler fills in itself. */
export type PrefetchRequest = Omit<PrefetchJob, 'cancelSab' | 'tableSab' | 'maxRunBytes'>;

interface Running {
  /** The JS prefetch thread (null: the native one, which stops at its next window once cancelled). */
  worker: Worker | null;
  cancel: Int32Array;
  report: Promise<PrefetchReport>;
}

/** Largest single install of a prefetch run: big enough to amortise the ioctl, small enough to interleave with demand faults. */
const MAX_RUN_BYTES = 1 << 20;
const THREAD = new URL('../worker/prefetch-thread.js', import.meta.url);

export class Prefetches {
  private readonly running = new Map<number, Running>();

  constructor(private readonly tableSab: SharedArrayBuffer) {}

  /** Starts a prefetch; the promise settles (never rejects) with its report once it is over. */
  start(request: PrefetchRequest): Promise<PrefetchReport> {
    if (request.data && request.fill !== 'all') return this.startNative(request, request.data);
    const cancelSab = new SharedArrayBuffer(4);
    const job: PrefetchJob = { ...request, tableSab: this.tableSab, cancelSab, maxRunBytes: Math.max(MAX_RUN_BYTES, request.pageSize) };
    const worker = new Worker(THREAD, { workerData: job });
    worker.unref();
    const report = new Promise<PrefetchReport>((resolve) => {
      const failed = (code: string, message: string): void =>
        resolve({ pages: job.fill === 'all' ? job.regionPages : job.pages.length, installed: 0, installedOnFaults: 0, alreadyPresent: 0, cancelled: 0, failed: job.fill === 'all' ? job.regionPages : job.pages.length, ms: 0, workingSetMs: 0, error: { code, message } });
      worker.on('message', (msg: { type: 'done'; report: PrefetchReport } | { type: 'failed'; error: { code: string; message: string } }) => {
        if (msg.type === 'done') resolve(msg.report);
        else failed(msg.error.code, msg.error.message);
      });
      worker.on('error', (err) => failed('ERR_FAULTLINE_WORKER_DIED', `the prefetch thread died: ${err.message}`));
      worker.on('exit', () => failed('ERR_FAULTLINE_WORKER_DIED', 'the prefetch thread exited before it reported'));
    });
    this.running.set(request.regionId, { worker, cancel: new Int32Array(cancelSab), report });
    return report;
  }

  /** The working set from the trace's page data, on a native thread. */
  private startNative(request: PrefetchRequest, data: { path: string; offset: number }): Promise<PrefetchReport> {
    const cancel = new Int32Array(new SharedArrayBuffer(4));
    const pages = request.pages.length;
    const failedReport = (code: string, message: string): PrefetchReport => ({
      pages, installed: 0, installedOnFaults: 0, alreadyPresent: 0, cancelled: 0, failed: pages, ms: 0, workingSetMs: 0, error: { code, message },
    });
    let report: Promise<PrefetchReport>;
    let dataFd = -1;
    try {
      dataFd = openSync(data.path, 'r');
      report = native
        .prefetchPages({
          fd: request.fd,
          uffdId: request.uffdId,
          regionId: request.regionId,
          address: request.address,
          offset: request.offset,
          pageSize: request.pageSize,
          mode: request.writeProtect ? native.constants.UFFDIO_COPY_MODE_WP : 0,
          pages: request.pages,
          dataFd,
          dataOffset: data.offset,
          regionTable: new Uint8Array(this.tableSab),
          cancel,
        })
        .then(
          (r): PrefetchReport => ({
            pages,
            installed: r.installed,
            installedOnFaults: r.installedOnFaults,
            alreadyPresent: r.alreadyPresent,
            cancelled: r.cancelled,
            failed: r.failed,
            ms: r.ms,
            workingSetMs: r.ms,
            ...(r.errno !== 0
              ? { error: { code: 'ERR_FAULTLINE_TRACE_DATA', message: `the prefetch stopped on errno ${r.errno} (reading ${data.path} or installing); the rest is served on demand` } }
              : {}),
          }),
          (err: Error) => failedReport('ERR_FAULTLINE_INSTALL_FAILED', err.message),
        )
        .finally(() => closeSync(dataFd));
    } catch (err) {
      if (dataFd >= 0) closeSync(dataFd);
      report = Promise.resolve(failedReport('ERR_FAULTLINE_TRACE_DATA', `cannot read the trace's page data: ${(err as Error).message}`));
    }
    this.running.set(request.regionId, { worker: null, cancel, report });
    return report;
  }

  /** Cancels what is left of the region's prefetch and waits until its thread stopped installing. */
  async stop(regionId: number, timeoutMs = 5000): Promise<void> {
    const r = this.running.get(regionId);
    if (!r) return;
    Atomics.store(r.cancel, 0, 1);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), timeoutMs);
    });
    // A run in the middle of a resolver call that never returns: the thread is terminated.
    // (The native thread never waits on anything but its own reads and ioctls.)
    if ((await Promise.race([r.report, late])) === 'late') await r.worker?.terminate();
    clearTimeout(timer);
    await r.worker?.terminate();
    this.running.delete(regionId);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.running.keys()].map((id) => this.stop(id)));
  }
}
