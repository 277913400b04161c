/**
 * The handler's running prefetches (worker/prefetch-thread.ts), one thread per
 * region that asked for one. They are stopped before their region is
 * unregistered or their uffd closed: a prefetch must never install into a
 * range that is no longer served, or through an fd number that was reused.
 */
import { Worker } from 'node:worker_threads';
import type { PrefetchReport } from '../trace/plan.js';
import type { PrefetchJob } from '../worker/prefetch-thread.js';

/** A prefetch's job without what the handler fills in itself. */
export type PrefetchRequest = Omit<PrefetchJob, 'cancelSab' | 'tableSab' | 'maxRunBytes'>;

interface Running {
  worker: Worker;
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
    const cancelSab = new SharedArrayBuffer(4);
    const job: PrefetchJob = { ...request, tableSab: this.tableSab, cancelSab, maxRunBytes: Math.max(MAX_RUN_BYTES, request.pageSize) };
    const worker = new Worker(THREAD, { workerData: job });
    worker.unref();
    const report = new Promise<PrefetchReport>((resolve) => {
      const failed = (code: string, message: string): void =>
        resolve({ pages: job.fill === 'all' ? job.regionPages : job.pages.length, installed: 0, alreadyPresent: 0, cancelled: 0, failed: job.fill === 'all' ? job.regionPages : job.pages.length, ms: 0, workingSetMs: 0, error: { code, message } });
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
    if ((await Promise.race([r.report, late])) === 'late') await r.worker.terminate();
    clearTimeout(timer);
    await r.worker.terminate();
    this.running.delete(regionId);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.running.keys()].map((id) => this.stop(id)));
  }
}
