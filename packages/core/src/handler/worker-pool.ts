/**
 * The Piscina pool and its resident serve loops: one long-running task per
 * worker, plus the control channel (a MessagePort per worker) used to load and
 * drop resolvers. Piscina 5 terminates a worker when its task is aborted, so
 * the loops are stopped through shared memory (the control block's closed
 * word, or closing the ring), and aborting is kept for a worker that must go
 * (a resolver that never returns).
 *
 * A worker can die (a resolver calls process.exit, throws from a timer, or is
 * aborted): its task's promise settles early. The pool then tells its owner
 * (onDeath), which recovers what the worker held and asks for a replacement
 * (respawn). No request ever waits for a dead worker: its answer is not
 * expected any more, and every request has a deadline.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { FaultlineError, type FaultlineErrorCode } from '../errors.js';
import type { FaultRing } from '../ring/ring.js';
import type { ControlBlock } from '../shared/control-block.js';
import type { FromWorker, ServeTask, ToWorker, WaiterSetup } from '../worker/protocol.js';
import type { ServeSummary } from '../worker/serve-loop.js';

/** What every serve loop is started with (the shared structures and how it waits). */
export interface PoolShared {
  ring: FaultRing;
  control: ControlBlock;
  tableSab: SharedArrayBuffer;
  statsSab: SharedArrayBuffer;
  traceSab: SharedArrayBuffer;
  uffdTableSab: SharedArrayBuffer;
  pageSize: number;
  /** Set when the workers read the uffds themselves; null: they take the reader's records from the ring. */
  waiter: WaiterSetup | null;
  /** The waiter serves the built-in resolvers natively (see FaultHandlerOptions.nativeResolvers). */
  nativeResolvers: boolean;
  /** Makes every waiting loop look around (after control.bumpSeq()). */
  wake: () => void;
  /** Date.now() when the handler started. */
  epochMs: number;
}

export interface PoolOptions {
  workers: number;
  spinUs: number;
  parkMs: number;
  maxInflight: number;
  startTimeoutMs: number;
}

/** One worker's serve loop as the pool sees it. */
interface Slot {
  port: MessagePort;
  loop: Promise<ServeSummary>;
  abort: AbortController;
  /** False once its loop settled (it returned or its thread died). */
  alive: boolean;
}

/** A request waiting for answers: who still owes one. */
interface Pending {
  owed: Set<number>;
  settle: () => void;
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly listeners = new Set<(msg: FromWorker) => void>();
  private readonly pending = new Set<Pending>();
  private stopping = false;
  /** Called when a worker's loop ends while the pool is not stopping. */
  onDeath: (worker: number, reason: string) => void = () => undefined;

  private constructor(
    private readonly shared: PoolShared,
    private readonly options: PoolOptions,
    private readonly pool: Piscina,
  ) {}

  get size(): number {
    return this.options.workers;
  }

  static async start(shared: PoolShared, options: PoolOptions): Promise<WorkerPool> {
    const pool = new Piscina({
      filename: new URL('../worker/serve-loop.js', import.meta.url).href,
      minThreads: options.workers,
      maxThreads: options.workers,
      idleTimeout: Number.POSITIVE_INFINITY,
      concurrentTasksPerWorker: 1,
      closeTimeout: 5000,
    });
    const wp = new WorkerPool(shared, options, pool);
    const indexes = [...Array(options.workers).keys()];
    try {
      await wp.launch(indexes, options.startTimeoutMs);
    } catch (err) {
      wp.stopping = true;
      await pool.destroy().catch(() => undefined);
      throw err;
    }
    return wp;
  }

  onMessage(listener: (msg: FromWorker) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  alive(worker: number): boolean {
    return this.slots[worker]?.alive === true;
  }

  /** Bumps the control sequence and wakes every waiting loop. */
  kick(): void {
    this.shared.control.bumpSeq();
    this.shared.wake();
  }

  /**
   * Sends `msg` to the living workers of `to` (default: all) and waits until
   * each answered with a reply accepted by `match`, died, or `timeoutMs`
   * passed (then rejects with `timeoutCode`, naming who did not answer in
   * the message and in its `workers` property).
   * Rejects with the first error a worker answered.
   */
  async request(
    msg: ToWorker,
    match: (reply: FromWorker) => { matched: boolean; error?: Error },
    timeoutMs: number,
    timeoutCode: FaultlineErrorCode,
    to?: readonly number[],
  ): Promise<void> {
    const errors: Error[] = [];
    const owed = new Set((to ?? [...this.slots.keys()]).filter((w) => this.alive(w)));
    let timer: NodeJS.Timeout | undefined;
    let off: () => void = () => undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        const pending: Pending = { owed, settle: () => resolve() };
        this.pending.add(pending);
        off = this.onMessage((reply) => {
          const m = match(reply);
          if (!m.matched || !('worker' in reply) || !owed.has(reply.worker)) return;
          if (m.error) errors.push(m.error);
          owed.delete(reply.worker);
          if (owed.size === 0) resolve();
        });
        timer = setTimeout(() => {
          reject(
            Object.assign(
              new FaultlineError(
                timeoutCode,
                `worker(s) ${[...owed].join(', ')} did not answer a '${msg.type}' request within ${timeoutMs} ms`,
              ),
              { workers: [...owed] },
            ),
          );
        }, timeoutMs);
        timer.unref();
        if (owed.size === 0) return resolve();
        for (const w of owed) this.slots[w]!.port.postMessage(msg);
        this.kick();
      }).finally(() => {
        for (const p of this.pending) if (p.owed === owed) this.pending.delete(p);
      });
    } finally {
      clearTimeout(timer);
      off();
    }
    if (errors.length > 0) throw errors[0];
  }

  /** Starts a new serve loop in place of dead worker `worker`; resolves once it is ready. */
  async respawn(worker: number): Promise<void> {
    if (this.stopping || this.alive(worker)) return;
    await this.launch([worker], this.options.startTimeoutMs);
  }

  /** Terminates worker `worker` (its task is aborted; Piscina ends the thread). */
  terminate(worker: number): void {
    this.slots[worker]?.abort.abort();
  }

  /** Waits for every serve loop to return (after the control block or ring was closed), then stops the workers. */
  async stop(timeoutMs: number): Promise<ServeSummary[]> {
    this.stopping = true;
    this.kick();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const settled = await Promise.race([Promise.allSettled(this.slots.map((s) => s.loop)), timeout]);
    clearTimeout(timer);
    await this.pool.destroy();
    for (const s of this.slots) s.port.close();
    if (settled === 'timeout') return [];
    return settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  }

  /** Starts serve loops for `indexes` and waits for each to say it is ready. */
  private async launch(indexes: number[], timeoutMs: number): Promise<void> {
    const waiting = new Set(indexes);
    let off: () => void = () => undefined;
    let timer: NodeJS.Timeout | undefined;
    const ready = new Promise<void>((resolve, reject) => {
      off = this.onMessage((msg) => {
        if (msg.type !== 'ready') return;
        waiting.delete(msg.worker);
        if (waiting.size === 0) resolve();
      });
      timer = setTimeout(
        () =>
          reject(
            new FaultlineError(
              'ERR_FAULTLINE_WORKER_START',
              `workers did not start within ${timeoutMs} ms (${indexes.length - waiting.size}/${indexes.length} ready)`,
            ),
          ),
        timeoutMs,
      );
    });
    const ended = indexes.map((w) => this.startLoop(w));
    const failed = Promise.race(ended).then((reason) => {
      throw new FaultlineError('ERR_FAULTLINE_WORKER_START', `a worker failed to start: ${reason}`);
    });
    try {
      await Promise.race([ready, failed]);
    } finally {
      clearTimeout(timer);
      off();
      failed.catch(() => undefined);
    }
  }

  /** Runs worker `w`'s serve loop task; the promise resolves with why it ended. */
  private startLoop(w: number): Promise<string> {
    const { port1, port2 } = new MessageChannel();
    port1.on('message', (msg: FromWorker) => this.dispatch(msg));
    port1.unref();
    const { shared, options } = this;
    const task: ServeTask = {
      index: w,
      port: port2,
      ringSab: shared.ring.sab,
      tableSab: shared.tableSab,
      statsSab: shared.statsSab,
      traceSab: shared.traceSab,
      uffdTableSab: shared.uffdTableSab,
      controlSab: shared.control.sab,
      pageSize: shared.pageSize,
      waiter: shared.waiter,
      nativeResolvers: shared.nativeResolvers,
      spinUs: options.spinUs,
      parkMs: options.parkMs,
      maxInflight: options.maxInflight,
      epochMs: shared.epochMs,
    };
    const abort = new AbortController();
    const loop = this.pool.run(task, { transferList: [port2], signal: abort.signal }) as Promise<ServeSummary>;
    const slot: Slot = { port: port1, loop, abort, alive: true };
    this.slots[w] = slot;
    return loop.then(
      () => this.ended(w, slot, 'its serve loop returned'),
      (err: unknown) => this.ended(w, slot, (err as Error)?.message ?? String(err)),
    );
  }

  private ended(w: number, slot: Slot, reason: string): string {
    slot.alive = false;
    slot.port.close();
    // Nobody waits for a dead worker's answer.
    for (const p of this.pending) {
      if (p.owed.delete(w) && p.owed.size === 0) p.settle();
    }
    if (!this.stopping && this.slots[w] === slot) this.onDeath(w, reason);
    return reason;
  }

  private dispatch(msg: FromWorker): void {
    for (const l of [...this.listeners]) l(msg);
  }
}
