/**
 * The resident serve loop: the Piscina task each worker runs until the
 * handler closes. It waits for faults, hands each message to the fault server
 * (fault.ts) or the event applier (uffd-events.ts), and drains control
 * messages between. It never needs the main thread: the main thread may be
 * the one parked on the fault.
 *
 * Waiting, by default, is the native FaultWaiter's (serve/fault_waiter.cc):
 * one leader reads the uffds (spinning, then sleeping in read(2) or
 * epoll_wait(2)), the other workers sleep until it hands over. The leader
 * keeps the lead while it resolves synchronously and gives it up before it
 * goes away for long: a control message to drain (resolver loading is async)
 * or a full budget of async resolutions to wait for. While async resolutions
 * are in flight the loop must not sleep in a syscall (their promises need
 * this thread's event loop), so it only polls and yields to the event loop.
 *
 * With directPoll off, the reader thread publishes every fault to the ring
 * and the loop takes records from it, parking in a native futex on the ring
 * (a JS Atomics.wait would not be woken by the native reader's FUTEX_WAKE).
 */
import native from '@faultline/native';
import { FLAG_WRITE, KIND_FAULT } from '../ring/layout.js';
import { addressOf, flagsOf, kindOf, messageRecords, tidOf, uffdIdOf } from '../ring/message.js';
import { FaultRing } from '../ring/ring.js';
import { ControlBlock } from '../shared/control-block.js';
import { RegionTable } from '../shared/region-table.js';
import { StatsBlock } from '../shared/region-stats.js';
import { UffdTable } from '../shared/uffd-table.js';
import { ControlChannel } from './control-channel.js';
import { FailurePolicy } from './failure.js';
import { FaultServer } from './fault.js';
import { FaultTraceBuffer } from '../shared/fault-trace.js';
import { Installer } from './installer.js';
import { toWireError, type FromWorker, type ServeTask } from './protocol.js';
import { ResolverRegistry } from './resolver-registry.js';
import { ScratchPool } from './scratch.js';
import { UffdEventApplier } from './uffd-events.js';

/** Records claimed per take(): enough to amortise the CAS, small enough to share work between workers. */
const BATCH_RECORDS = 16;
/** Records one wait may return: 16 messages of up to 16 records each (docs/ring.md). */
const WAIT_RECORDS = 256;

export interface ServeSummary {
  worker: number;
  faults: number;
  events: number;
}

class ServeLoop {
  private readonly ring: FaultRing;
  private readonly control: ControlBlock;
  private readonly uffds: UffdTable;
  private readonly resolvers = new ResolverRegistry();
  private readonly channel: ControlChannel;
  private readonly faults: FaultServer;
  private readonly events: UffdEventApplier;
  private readonly records = new Uint32Array(WAIT_RECORDS * 4);
  private waiter: native.FaultWaiter | null = null;
  private readonly inflight = new Set<Promise<void>>();
  private faultCount = 0;

  constructor(private readonly task: ServeTask) {
    const post = (msg: FromWorker): void => task.port.postMessage(msg);
    const worker = task.index;
    this.ring = FaultRing.attach(task.ringSab);
    this.control = new ControlBlock(task.controlSab);
    this.uffds = new UffdTable(task.uffdTableSab);
    const table = new RegionTable(task.tableSab);
    const stats = new StatsBlock(task.statsSab);
    const installer = new Installer(stats, task.pageSize);
    const scratch = new ScratchPool(task.pageSize);
    const failures = new FailurePolicy(
      installer,
      stats,
      (regionId, address, offset, action, err) =>
        post({ type: 'resolver-error', worker, regionId, address, offset, action, error: toWireError(err, 'ERR_FAULTLINE_RESOLVER_FAILED') }),
      task.pageSize,
      native.writeStderr,
      (regionId) => this.resolvers.nameOf(regionId),
    );
    this.faults = new FaultServer({
      pageSize: task.pageSize,
      table,
      uffds: this.uffds,
      stats,
      resolvers: this.resolvers,
      installer,
      failures,
      scratch,
      deadlines: {
        closing: () => this.control.closing(),
        resolveTimeoutMs: (regionId) => this.resolvers.timeoutOf(regionId),
        retries: (regionId) => this.resolvers.retriesOf(regionId),
        // ms since the handler started, at least 1 (0 means "no call").
        beginCall: (uffdId, page, regionId) =>
          this.control.beginResolverCall(worker, Math.max(1, Date.now() - task.epochMs), uffdId, page, regionId),
        endCall: () => this.control.endResolverCall(worker),
      },
      observe: (uffdId, regionId, address, faultFlags, tid) => this.sample(uffdId, regionId, address, faultFlags, tid),
      trace: { buffer: new FaultTraceBuffer(task.traceSab), epochMs: task.epochMs },
    });
    this.events = new UffdEventApplier(table, this.ring, {
      applied: (event) => post({ type: 'uffd-event', worker, event }),
      failed: (uffdId, err) => post({ type: 'uffd-error', worker, uffdId, error: toWireError(err, err.code) }),
    });
    this.channel = new ControlChannel(task.port, this.control, worker, task.pageSize, this.resolvers, scratch, post);
  }

  async run(): Promise<ServeSummary> {
    const { index } = this.task;
    this.task.port.postMessage({ type: 'ready', worker: index } satisfies FromWorker);
    if (this.task.waiter) await this.runWithWaiter();
    else await this.runOnRing();
    await Promise.allSettled([...this.inflight]);
    // Answer control messages that raced with close, then release resolvers.
    await this.channel.drain();
    await this.resolvers.dropAll();
    this.control.setBusy(index, false);
    this.task.port.close();
    return { worker: index, faults: this.faultCount, events: this.events.count };
  }

  /** Leader/followers over the uffds (the default). */
  private async runWithWaiter(): Promise<void> {
    const { index, pageSize, spinUs, parkMs } = this.task;
    const setup = this.task.waiter!;
    const waiter = new native.FaultWaiter({
      control: this.control.words,
      uffdTable: this.uffds.fds,
      worker: index,
      ownUffdId: setup.ownUffdId,
      epollFd: setup.epollFd,
      kickFd: setup.kickFd,
      doorbell: setup.doorbell,
      pageSize,
      maxSpinUs: spinUs,
      parkMs,
      regionTable: new Uint8Array(this.task.tableSab),
      regionStats: new Int32Array(this.task.statsSab),
      nativeResolvers: this.task.nativeResolvers,
      faultTrace: new Int32Array(this.task.traceSab),
      epochMs: this.task.epochMs,
    });
    this.waiter = waiter;
    const records = this.records;
    for (;;) {
      if (this.channel.pending()) {
        waiter.release(); // resolver loading is async: let another worker lead meanwhile
        await this.channel.drain();
      }
      const n = waiter.wait(records, this.channel.seenSeq() >>> 0, this.inflight.size === 0);
      if (n > 0) {
        await this.handleRecords(records, n);
        this.control.setBusy(index, this.inflight.size > 0);
      } else if (n < 0) {
        return;
      } else if (this.inflight.size > 0) {
        await yieldToEventLoop();
        // The last async answer may have just landed with no new fault read:
        // drop the flag here, or idle() and close() would wait on it for ever
        // (wait() only touches it when it reads something).
        if (this.inflight.size === 0) this.control.setBusy(index, false);
      }
    }
  }

  /** Records from the ring, published by the reader thread (directPoll off). */
  private async runOnRing(): Promise<void> {
    const { index, spinUs, parkMs } = this.task;
    // Ring checks before parking: each is a few atomic loads (~0.1 µs).
    const spins = spinUs > 0 ? spinUs * 4 : 1;
    const control = this.control;
    for (;;) {
      if (this.channel.pending()) await this.channel.drain();
      // Busy is raised before take() so a draining close never sees "ring empty, nobody busy"
      // while records sit in this worker's hands.
      control.setBusy(index, true);
      const n = this.ring.take(this.records, BATCH_RECORDS);
      if (n > 0) {
        await this.handleRecords(this.records, n);
        control.setBusy(index, this.inflight.size > 0);
        continue;
      }
      control.setBusy(index, this.inflight.size > 0);
      if (this.inflight.size > 0) {
        await yieldToEventLoop();
        continue;
      }
      const state = this.ring.waitForWork(spins, parkMs);
      if (state === 'closed' && this.ring.isEmpty()) return;
    }
  }

  private async handleRecords(r: Uint32Array, n: number): Promise<void> {
    for (let i = 0; i < n; i += messageRecords(r, i)) {
      if (kindOf(r, i) === KIND_FAULT) {
        this.faultCount++;
        const pending = this.faults.serve(uffdIdOf(r, i), flagsOf(r, i), tidOf(r, i), addressOf(r, i));
        if (pending) await this.track(pending);
      } else {
        this.events.apply(r, i);
      }
    }
  }

  /** Keeps an async resolution in flight; waits when the worker's budget of them is used up. */
  private async track(p: Promise<void>): Promise<void> {
    const tracked = p.finally(() => this.inflight.delete(tracked));
    this.inflight.add(tracked);
    if (this.inflight.size >= this.task.maxInflight) {
      this.waiter?.release(); // nobody reads faults while this loop waits: let another worker lead
      await Promise.race(this.inflight);
    }
  }

  /** Posts one fault in N (the control block's sampleEvery) to main as a 'fault' event. */
  private sample(uffdId: number, regionId: number, address: number, faultFlags: number, tid: number): void {
    const every = this.control.sampleEvery();
    if (every > 0 && this.faultCount % every === 0) {
      this.task.port.postMessage({
        type: 'fault-sample',
        worker: this.task.index,
        uffdId,
        regionId,
        address,
        write: (faultFlags & FLAG_WRITE) !== 0,
        tid,
      } satisfies FromWorker);
    }
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Piscina task entry: runs until the handler closes the ring. */
export default async function serve(task: ServeTask): Promise<ServeSummary> {
  return new ServeLoop(task).run();
}
