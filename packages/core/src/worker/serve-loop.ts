/**
 * The resident serve loop: the Piscina task each worker runs until the
 * handler closes. It takes ring records and hands each message to the fault
 * server (fault.ts) or the event applier (uffd-events.ts). It never needs the
 * main thread: the main thread may be the one parked on the fault.
 *
 * Idle policy: spin on the ring briefly, then park. With the handler's direct
 * poll set, parking means waiting on the uffd itself: the kernel wakes this
 * worker for a fault, it reads and resolves it (one wake-up per fault, as in a
 * plain C handler), and the reader thread only covers faults that arrive while
 * every worker is busy. Without it, the loop parks in a native futex on the
 * ring (a JS Atomics.wait would not be woken by the native reader's
 * FUTEX_WAKE). While async resolutions are in flight it must not park (their
 * promises need this thread's event loop), so it yields to the event loop.
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
import { Installer } from './installer.js';
import { toWireError, type FromWorker, type ServeTask } from './protocol.js';
import { ResolverRegistry } from './resolver-registry.js';
import { ScratchPool } from './scratch.js';
import { UffdEventApplier } from './uffd-events.js';

/** Records claimed per take(): enough to amortise the CAS, small enough to share work between workers. */
const BATCH_RECORDS = 16;
/** Records one direct pull may return: 16 messages of up to 16 records each (docs/ring.md). */
const DIRECT_RECORDS = 256;
/** While spinning in direct mode, poll the uffd every 16 ring checks (a syscall costs ~16 checks). */
const DIRECT_POLL_EVERY_MASK = 15;

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
  private readonly records = new Uint32Array(BATCH_RECORDS * 4);
  private readonly directRecords = new Uint32Array(DIRECT_RECORDS * 4);
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
      observe: (uffdId, regionId, address, faultFlags, tid) => this.sample(uffdId, regionId, address, faultFlags, tid),
    });
    this.events = new UffdEventApplier(table, this.ring, {
      applied: (event) => post({ type: 'uffd-event', worker, event }),
      failed: (uffdId, err) => post({ type: 'uffd-error', worker, uffdId, error: toWireError(err, err.code) }),
    });
    this.channel = new ControlChannel(task.port, this.control, worker, task.pageSize, this.resolvers, scratch, post);
  }

  async run(): Promise<ServeSummary> {
    const { index, spin, parkMs } = this.task;
    this.task.port.postMessage({ type: 'ready', worker: index } satisfies FromWorker);
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
      if (this.task.direct) {
        const got = this.parkDirect();
        if (got > 0) {
          control.addDirectMessages(countMessages(this.directRecords, got));
          await this.handleRecords(this.directRecords, got);
          control.setBusy(index, this.inflight.size > 0);
        } else if (got < 0 && this.ring.isEmpty()) {
          break;
        }
        continue;
      }
      const state = this.ring.waitForWork(spin, parkMs);
      if (state === 'closed' && this.ring.isEmpty()) break;
    }
    await Promise.allSettled([...this.inflight]);
    // Answer control messages that raced with close, then release resolvers.
    await this.channel.drain();
    await this.resolvers.dropAll();
    control.setBusy(index, false);
    this.task.port.close();
    return { worker: index, faults: this.faultCount, events: this.events.count };
  }

  /**
   * Spins on the ring, then parks in the direct poll set. Returns the records
   * pulled from a uffd into directRecords (> 0), 0 to look around again (ring
   * records, a control message, a kick, a timeout), or -1 once the ring closed.
   */
  private parkDirect(): number {
    const { spin, parkMs } = this.task;
    const ring = this.ring;
    for (let i = 1; i <= spin; i++) {
      if (!ring.isEmpty()) return 0;
      if (ring.closed) return -1;
      if ((i & DIRECT_POLL_EVERY_MASK) === 0) {
        // Poll the uffd too (timeout 0): a fault caught while spinning costs
        // no wake-up at all, and wake-ups are what dominate (docs/performance.md).
        const got = this.pullDirect(0);
        if (got > 0) return got;
      }
    }
    ring.enterPollers();
    try {
      // Re-check after announcing ourselves: a reader that published before it
      // could see us counted did not kick (the same handshake as the futex).
      if (!ring.isEmpty()) return 0;
      if (ring.closed) return -1;
      if (this.channel.pending()) return 0;
      return this.pullDirect(parkMs);
    } finally {
      ring.leavePollers();
    }
  }

  /** One wait in the direct poll set (0: just look): records read into directRecords, or 0. */
  private pullDirect(timeoutMs: number): number {
    const { epollFd, kickFd } = this.task.direct!;
    const control = this.control;
    return native.directPollPull(epollFd, kickFd, this.uffds.fds, this.directRecords, control.words, control.busyIndex(this.task.index), timeoutMs);
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
    if (this.inflight.size >= this.task.maxInflight) await Promise.race(this.inflight);
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

/** Message heads among the first `n` records. */
function countMessages(r: Uint32Array, n: number): number {
  let messages = 0;
  for (let i = 0; i < n; i += messageRecords(r, i)) messages++;
  return messages;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Piscina task entry: runs until the handler closes the ring. */
export default async function serve(task: ServeTask): Promise<ServeSummary> {
  return new ServeLoop(task).run();
}
