/**
 * An evicting region's evictor in a JS thread (worker/evictor-thread.ts):
 * for regions whose writeback store exists only in JS (a custom resolver's
 * write()). It gets a staging buffer registered on the handler's uffd
 * (UFFDIO_MOVE's destination must be) and talks back by messages.
 */
import { Worker } from 'node:worker_threads';
import native from '@faultline/native';
import { FaultlineError } from '../errors.js';
import { wakeEvictor } from '../shared/eviction-marker.js';
import type { EvictorJob } from '../worker/evictor-thread.js';
import type { EvictorRequest, RunningEvictor } from './evictors.js';
import { INTERVAL_MS, RUN_PAGES } from './eviction-policy.js';
import { FlushRequests } from './flush-requests.js';

const STOP_TIMEOUT_MS = 10_000;

/** Starts the thread; rejects (and leaves nothing behind) if its resolver cannot load or write. */
export async function startJsEvictor(req: EvictorRequest, statsSab: SharedArrayBuffer, onError: (err: FaultlineError) => void): Promise<RunningEvictor> {
  const staging = native.mapAnonymous(RUN_PAGES * req.pageSize);
  native.uffdRegister(req.uffdFd, staging.address, staging.length, native.constants.UFFDIO_REGISTER_MODE_MISSING);
  const release = (): void => {
    try {
      native.uffdUnregister(req.uffdFd, staging.address, staging.length);
    } catch {
      // the uffd is closing: that unregisters it too
    }
    // The mapping itself goes when its SharedArrayBuffer is collected.
  };
  const controlSab = new SharedArrayBuffer(16);
  const countersSab = new SharedArrayBuffer(4 * 8);
  const job: EvictorJob = {
    ...req,
    controlSab,
    countersSab,
    statsSab,
    staging: staging.address,
    stagingBuffer: staging.buffer,
    runPages: RUN_PAGES,
    intervalMs: INTERVAL_MS,
  };
  const worker = new Worker(new URL('../worker/evictor-thread.js', import.meta.url), { workerData: job });
  worker.unref();
  const flushes = new FlushRequests();
  let ready!: () => void;
  let failed!: (err: Error) => void;
  const started = new Promise<void>((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });
  const stopped = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let running = false;
  let stopping = false;
  const died = (why: string): void => {
    const err = new FaultlineError(
      'ERR_FAULTLINE_WORKER_DIED',
      `the evictor of region "${req.resolver.info.name}" ${why}: the region is no longer kept under maxResident`,
    );
    if (!running) return failed(err);
    if (!stopping) onError(err);
  };
  worker.on('message', (msg: { type: string; seq?: number; error?: { code: string; message: string } }) => {
    if (msg.type === 'ready') {
      running = true;
      ready();
    } else if (msg.type === 'failed') failed(new FaultlineError(msg.error!.code, msg.error!.message));
    else if (msg.type === 'error') {
      const err = new FaultlineError(msg.error!.code, msg.error!.message);
      onError(err);
      if (msg.seq) flushes.failed(msg.seq, err); // it failed in a flush's pass: that flush did not write everything
    }
    else if (msg.type === 'flushed') flushes.served(msg.seq!);
  });
  worker.once('error', (err) => died(`died (${err.message})`));
  worker.once('exit', () => died('exited'));
  try {
    await started;
  } catch (err) {
    await worker.terminate();
    release();
    throw err;
  }
  const control = new Int32Array(controlSab);
  const counters = new Float64Array(countersSab);
  const marker = new Int32Array(req.markerSab);
  return {
    kind: 'js',
    stats: () => ({ evicted: counters[0]!, writtenBack: counters[1]!, passes: counters[2]!, maxResidentSeen: counters[3]! }),
    flush() {
      const done = flushes.wait(Atomics.add(control, 2, 1) + 1);
      wakeEvictor(marker);
      return done;
    },
    async stop() {
      stopping = true;
      Atomics.store(control, 0, 1);
      wakeEvictor(marker);
      const late = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS);
      await stopped;
      clearTimeout(late);
      flushes.releaseAll();
      release();
    },
  };
}
