/**
 * The evicting regions' background threads (worker/evictor-thread.ts), one
 * per region mapped with `maxResident`. Each gets a staging buffer
 * registered on the handler's uffd (UFFDIO_MOVE's destination must be) and
 * is stopped before its region is unregistered.
 */
import { Worker } from 'node:worker_threads';
import native from '@faultline/native';
import { FaultlineError } from '../errors.js';
import type { EvictorJob } from '../worker/evictor-thread.js';
import { M_WAKE, createEvictionMarker } from '../shared/eviction-marker.js';

/** What an evicting region did so far. */
export interface EvictionStats {
  /** Pages taken out of memory. */
  evicted: number;
  /** Of those, pages whose bytes differed from the store and were written back. */
  writtenBack: number;
  /** Times the resident set went over maxResident and was brought down. */
  passes: number;
  /** Most pages seen resident at one of the evictor's looks (faults between looks can add a few). */
  maxResidentSeen: number;
}

/** Pages moved out per run: the most a fault on an evicted page can wait for is one run's writeback. */
const RUN_PAGES = 64;
const INTERVAL_MS = 5;
const STOP_TIMEOUT_MS = 10_000;

interface Running {
  worker: Worker;
  control: Int32Array;
  counters: Float64Array;
  staging: native.Mapping;
  stopped: Promise<void>;
  flushes: Map<number, () => void>;
  marker: Int32Array;
}

/** An evictor's job without what this module fills in itself. */
export type EvictorRequest = Omit<EvictorJob, 'controlSab' | 'countersSab' | 'statsSab' | 'staging' | 'stagingBuffer' | 'runPages' | 'intervalMs'>;

export class Evictors {
  private readonly running = new Map<number, Running>();

  constructor(
    private readonly statsSab: SharedArrayBuffer,
    /** Problems after start (a failed writeback, a dead evictor): the handler's 'error' event. */
    private readonly onError: (err: FaultlineError) => void,
  ) {}

  /**
   * A marker for a region about to be mapped with maxResident (the workers get
   * its buffer with the resolver; the native fast path reads it at `address`,
   * which is why it lives in a mapping of its own rather than a plain SharedArrayBuffer).
   */
  static marker(maxPages: number): native.Mapping {
    // The hard cap: past it faults wait for the evictor.
    const mapping = native.mapAnonymous(native.pageSize());
    createEvictionMarker(maxPages + Math.max(16, Math.floor(maxPages / 8)), mapping.buffer);
    return mapping;
  }

  /** Starts the region's evictor; rejects (and leaves nothing behind) if its resolver cannot load or write. */
  async start(req: EvictorRequest): Promise<void> {
    const staging = native.mapAnonymous(RUN_PAGES * req.pageSize);
    native.uffdRegister(req.uffdFd, staging.address, staging.length, native.constants.UFFDIO_REGISTER_MODE_MISSING);
    const controlSab = new SharedArrayBuffer(16);
    const countersSab = new SharedArrayBuffer(4 * 8);
    const job: EvictorJob = {
      ...req,
      controlSab,
      countersSab,
      statsSab: this.statsSab,
      staging: staging.address,
      stagingBuffer: staging.buffer,
      runPages: RUN_PAGES,
      intervalMs: INTERVAL_MS,
    };
    const worker = new Worker(new URL('../worker/evictor-thread.js', import.meta.url), { workerData: job });
    worker.unref();
    const flushes = new Map<number, () => void>();
    let ready!: () => void;
    let failed!: (err: Error) => void;
    const started = new Promise<void>((resolve, reject) => {
      ready = resolve;
      failed = reject;
    });
    const stopped = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    let running = false;
    const died = (why: string): void => {
      const err = new FaultlineError(
        'ERR_FAULTLINE_WORKER_DIED',
        `the evictor of region "${req.resolver.info.name}" ${why}: the region is no longer kept under maxResident`,
      );
      if (!running) return failed(err);
      if (this.running.get(req.regionId)?.worker === worker) this.onError(err);
    };
    worker.on('message', (msg: { type: string; seq?: number; error?: { code: string; message: string } }) => {
      if (msg.type === 'ready') {
        running = true;
        ready();
      } else if (msg.type === 'failed') failed(new FaultlineError(msg.error!.code, msg.error!.message));
      else if (msg.type === 'error') this.onError(new FaultlineError(msg.error!.code, msg.error!.message));
      else if (msg.type === 'flushed') flushes.get(msg.seq!)?.();
    });
    worker.once('error', (err) => died(`died (${err.message})`));
    worker.once('exit', () => died('exited'));
    const r: Running = {
      worker,
      control: new Int32Array(controlSab),
      counters: new Float64Array(countersSab),
      staging,
      stopped,
      flushes,
      marker: new Int32Array(req.markerSab),
    };
    try {
      await started;
    } catch (err) {
      await worker.terminate();
      this.release(req.uffdFd, r);
      throw err;
    }
    this.running.set(req.regionId, r);
  }

  stats(regionId: number): EvictionStats | null {
    const r = this.running.get(regionId);
    if (!r) return null;
    const c = r.counters;
    return { evicted: c[0]!, writtenBack: c[1]!, passes: c[2]!, maxResidentSeen: c[3]! };
  }

  /** Evicts (and writes back) every resident page of the region; resolves when done. */
  flush(regionId: number): Promise<void> {
    const r = this.running.get(regionId);
    if (!r) return Promise.resolve();
    const seq = Atomics.add(r.control, 2, 1) + 1;
    const done = new Promise<void>((resolve) => r.flushes.set(seq, resolve));
    this.poke(r);
    return done.finally(() => r.flushes.delete(seq));
  }

  /** Stops the region's evictor (a run in progress is finished: no page is left half evicted). */
  async stop(regionId: number, uffdFd: number): Promise<void> {
    const r = this.running.get(regionId);
    if (!r) return;
    this.running.delete(regionId);
    Atomics.store(r.control, 0, 1);
    this.poke(r);
    const late = setTimeout(() => void r.worker.terminate(), STOP_TIMEOUT_MS);
    await r.stopped;
    clearTimeout(late);
    for (const resolve of r.flushes.values()) resolve();
    this.release(uffdFd, r);
  }

  async stopAll(uffdFd: number): Promise<void> {
    await Promise.all([...this.running.keys()].map((id) => this.stop(id, uffdFd)));
  }

  private poke(r: Running): void {
    Atomics.add(r.marker, M_WAKE, 1);
    Atomics.notify(r.marker, M_WAKE);
  }

  private release(uffdFd: number, r: Running): void {
    try {
      native.uffdUnregister(uffdFd, r.staging.address, r.staging.length);
    } catch {
      // the uffd is closing: that unregisters it too
    }
    // The mapping itself goes when its SharedArrayBuffer is collected.
  }
}
