/**
 * The Piscina pool and its resident serve loops: one long-running task per
 * worker, plus the control channel (a MessagePort per worker) used to load and
 * drop resolvers. Piscina 5 terminates a worker when its task is aborted, so
 * the loops are stopped through shared memory (closing the ring) instead.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { FaultlineError } from '../errors.js';
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
  uffdTableSab: SharedArrayBuffer;
  pageSize: number;
  /** Set when the workers read the uffds themselves; null: they take the reader's records from the ring. */
  waiter: WaiterSetup | null;
  /** The waiter serves the built-in resolvers natively (see FaultHandlerOptions.nativeResolvers). */
  nativeResolvers: boolean;
  /** Makes every waiting loop look around (after control.bumpSeq()). */
  wake: () => void;
}

export interface PoolOptions {
  workers: number;
  spinUs: number;
  parkMs: number;
  maxInflight: number;
  startTimeoutMs: number;
}

export class WorkerPool {
  private readonly pool: Piscina;
  private readonly ports: MessagePort[] = [];
  private readonly loops: Promise<ServeSummary>[] = [];
  private readonly listeners = new Set<(msg: FromWorker) => void>();

  private constructor(
    private readonly shared: PoolShared,
    readonly size: number,
    pool: Piscina,
  ) {
    this.pool = pool;
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
    const wp = new WorkerPool(shared, options.workers, pool);
    const ready = new Set<number>();
    const allReady = new Promise<void>((resolve) => {
      wp.onMessage((msg) => {
        if (msg.type === 'ready') {
          ready.add(msg.worker);
          if (ready.size === options.workers) resolve();
        }
      });
    });
    for (let index = 0; index < options.workers; index++) {
      const { port1, port2 } = new MessageChannel();
      port1.on('message', (msg: FromWorker) => wp.dispatch(msg));
      port1.unref();
      wp.ports.push(port1);
      const task: ServeTask = {
        index,
        port: port2,
        ringSab: shared.ring.sab,
        tableSab: shared.tableSab,
        statsSab: shared.statsSab,
        uffdTableSab: shared.uffdTableSab,
        controlSab: shared.control.sab,
        pageSize: shared.pageSize,
        waiter: shared.waiter,
        nativeResolvers: shared.nativeResolvers,
        spinUs: options.spinUs,
        parkMs: options.parkMs,
        maxInflight: options.maxInflight,
      };
      wp.loops.push(pool.run(task, { transferList: [port2] }) as Promise<ServeSummary>);
    }
    const failed = Promise.race(wp.loops).then(
      () => {
        throw new FaultlineError('ERR_FAULTLINE_WORKER_START', 'a serve loop ended while starting');
      },
      (err: unknown) => {
        throw new FaultlineError('ERR_FAULTLINE_WORKER_START', `a worker failed to start: ${(err as Error).message}`, {
          cause: err,
        });
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new FaultlineError(
              'ERR_FAULTLINE_WORKER_START',
              `workers did not start within ${options.startTimeoutMs} ms (${ready.size}/${options.workers} ready)`,
            ),
          ),
        options.startTimeoutMs,
      );
    });
    try {
      await Promise.race([allReady, failed, timeout]);
    } catch (err) {
      await pool.destroy().catch(() => undefined);
      throw err;
    } finally {
      clearTimeout(timer);
    }
    failed.catch(() => undefined);
    return wp;
  }

  onMessage(listener: (msg: FromWorker) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Sends a control message to every worker and makes parked loops pick it up. */
  broadcast(msg: ToWorker): void {
    for (const port of this.ports) port.postMessage(msg);
    this.kick();
  }

  /** Bumps the control sequence and wakes every parked loop. */
  kick(): void {
    this.shared.control.bumpSeq();
    this.shared.wake();
  }

  /**
   * Sends `msg` to every worker and waits until each answered with a reply
   * accepted by `match` (which returns the reply's error, or null). Rejects
   * with the first error after all answered.
   */
  async request(msg: ToWorker, match: (reply: FromWorker) => { matched: boolean; error?: Error }): Promise<void> {
    const errors: Error[] = [];
    let answered = 0;
    await new Promise<void>((resolve) => {
      const off = this.onMessage((reply) => {
        const m = match(reply);
        if (!m.matched) return;
        if (m.error) errors.push(m.error);
        if (++answered === this.size) {
          off();
          resolve();
        }
      });
      this.broadcast(msg);
    });
    if (errors.length > 0) throw errors[0];
  }

  /** Waits for every serve loop to return (after the ring was closed), then stops the workers. */
  async stop(timeoutMs: number): Promise<ServeSummary[]> {
    this.kick();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const settled = await Promise.race([Promise.allSettled(this.loops), timeout]);
    clearTimeout(timer);
    await this.pool.destroy();
    for (const port of this.ports) port.close();
    if (settled === 'timeout') return [];
    return settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  }

  private dispatch(msg: FromWorker): void {
    for (const l of [...this.listeners]) l(msg);
  }
}
