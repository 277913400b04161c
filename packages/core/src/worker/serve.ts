/**
 * The resident serve loop: the Piscina task each worker runs until the
 * handler closes. It claims ring records, looks the address up in the shared
 * region table, calls the region's resolver and installs the page. It never
 * needs the main thread: the main thread may be the one parked on the fault.
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
import { receiveMessageOnPort } from 'node:worker_threads';
import { FaultRing } from '../ring/index.js';
import { W_EVENTS_APPLIED, W_POLLERS } from '../ring/ring.js';
import { RegionTable, LookupResult, ENTRY_ZERO, FLAG_ON_ERROR_ZERO } from '../region-table.js';
import { StatsBlock, STAT } from '../region-stats.js';
import { FaultlineError } from '../errors.js';
import type { PageResolver, ResolveRequest, ResolveResult } from '../resolver.js';
import { Installer, type InstallKind } from './installer.js';
import { ResolverRegistry } from './resolver-registry.js';
import {
  CONTROL_BUSY_BASE,
  CONTROL_DIRECT_MESSAGES,
  CONTROL_SAMPLE_EVERY,
  CONTROL_SEQ,
  toWireError,
  type FromWorker,
  type ServeTask,
  type ToWorker,
} from './protocol.js';

// Record layout (docs/ring.md): w0 = kind | flags<<8 | cont<<16 | uffdId<<20, w1 = tid, w2/w3 = arg.
const KIND_FAULT = 0x12;
const KIND_FORK = 0x13;
const KIND_REMAP = 0x14;
const KIND_REMOVE = 0x15;
const KIND_UNMAP = 0x16;
const FLAG_WRITE = 1;
const FLAG_WP = 2;
const FLAG_MINOR = 4;

/** Records claimed per take(): enough to amortise the CAS, small enough to share work between workers. */
const BATCH_RECORDS = 16;
/** Records one direct pull may return: 16 messages of up to 16 records each (docs/ring.md). */
const DIRECT_RECORDS = 256;
/** While spinning in direct mode, poll the uffd every 16 ring checks (a syscall costs ~16 checks). */
const DIRECT_POLL_EVERY_MASK = 15;

interface Scratch {
  view: Uint8Array;
  /** The last view handed out (view.subarray(0, n)): reused while n repeats, so a fault allocates nothing. */
  sized: Uint8Array;
}

export interface ServeSummary {
  worker: number;
  faults: number;
  events: number;
}

class ServeLoop {
  private readonly ring: FaultRing;
  private readonly table: RegionTable;
  private readonly stats: StatsBlock;
  private readonly uffdFds: Int32Array;
  private readonly control: Int32Array;
  private readonly installer: Installer;
  private readonly resolvers = new ResolverRegistry();
  private readonly records = new Uint32Array(BATCH_RECORDS * 4);
  private readonly directRecords = new Uint32Array(DIRECT_RECORDS * 4);
  private readonly hit = new LookupResult();
  private readonly request: ResolveRequest;
  private readonly freeScratch: Scratch[] = [];
  private scratchBytes: number;
  private readonly inflight = new Set<Promise<void>>();
  private controlSeen = 0;
  private faults = 0;
  private events = 0;

  constructor(private readonly task: ServeTask) {
    this.ring = FaultRing.attach(task.ringSab);
    this.table = new RegionTable(task.tableSab);
    this.stats = new StatsBlock(task.statsSab);
    this.uffdFds = new Int32Array(task.uffdTableSab);
    this.control = new Int32Array(task.controlSab);
    this.installer = new Installer(this.stats, task.pageSize);
    this.scratchBytes = task.pageSize;
    this.request = {
      offset: 0,
      length: 0,
      address: 0,
      write: false,
      pageSize: task.pageSize,
      regionId: 0,
      uffdId: 0,
    };
    this.freeScratch.push(this.newScratch());
  }

  async run(): Promise<ServeSummary> {
    const { port, index, spin, parkMs } = this.task;
    this.post({ type: 'ready', worker: index });
    const busyWord = CONTROL_BUSY_BASE + index;
    for (;;) {
      if (Atomics.load(this.control, CONTROL_SEQ) !== this.controlSeen) await this.drainControl();
      // Busy is raised before take() so a draining close never sees "ring empty, nobody busy"
      // while records sit in this worker's hands.
      Atomics.store(this.control, busyWord, 1);
      const n = this.ring.take(this.records, BATCH_RECORDS);
      if (n > 0) {
        await this.handleRecords(this.records, n);
        Atomics.store(this.control, busyWord, this.inflight.size > 0 ? 1 : 0);
        continue;
      }
      Atomics.store(this.control, busyWord, this.inflight.size > 0 ? 1 : 0);
      if (this.inflight.size > 0) {
        await yieldToEventLoop();
        continue;
      }
      if (this.task.direct) {
        const got = this.parkDirect(busyWord);
        if (got > 0) {
          Atomics.add(this.control, CONTROL_DIRECT_MESSAGES, countMessages(this.directRecords, got));
          await this.handleRecords(this.directRecords, got);
          Atomics.store(this.control, busyWord, this.inflight.size > 0 ? 1 : 0);
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
    await this.drainControl();
    await this.resolvers.dropAll();
    Atomics.store(this.control, busyWord, 0);
    port.close();
    return { worker: index, faults: this.faults, events: this.events };
  }

  /**
   * Spins on the ring, then parks in the direct poll set. Returns the records
   * pulled from a uffd into directRecords (> 0), 0 to look around again (ring
   * records, a control message, a kick, a timeout), or -1 once the ring closed.
   */
  private parkDirect(busyWord: number): number {
    const { spin, parkMs } = this.task;
    const ring = this.ring;
    for (let i = 1; i <= spin; i++) {
      if (!ring.isEmpty()) return 0;
      if (ring.closed) return -1;
      if ((i & DIRECT_POLL_EVERY_MASK) === 0) {
        // Poll the uffd too (timeout 0): a fault caught while spinning costs
        // no wake-up at all, and wake-ups are what dominate (docs/performance.md).
        const got = this.pullDirect(busyWord, 0);
        if (got > 0) return got;
      }
    }
    Atomics.add(ring.i32, W_POLLERS, 1);
    try {
      // Re-check after announcing ourselves: a reader that published before it
      // could see us counted did not kick (the same handshake as the futex).
      if (!ring.isEmpty()) return 0;
      if (ring.closed) return -1;
      if (Atomics.load(this.control, CONTROL_SEQ) !== this.controlSeen) return 0;
      return this.pullDirect(busyWord, parkMs);
    } finally {
      Atomics.sub(ring.i32, W_POLLERS, 1);
    }
  }

  /** One wait in the direct poll set (0: just look): records read into directRecords, or 0. */
  private pullDirect(busyWord: number, timeoutMs: number): number {
    const { epollFd, kickFd } = this.task.direct!;
    return native.directPollPull(epollFd, kickFd, this.uffdFds, this.directRecords, this.control, busyWord, timeoutMs);
  }

  private async handleRecords(r: Uint32Array, n: number): Promise<void> {
    let i = 0;
    while (i < n) {
      const w0 = r[i * 4]!;
      const kind = w0 & 0xff;
      const cont = (w0 >>> 16) & 0xf;
      if (kind === KIND_FAULT) {
        const pending = this.handleFault(w0 >>> 20, (w0 >>> 8) & 0xff, r[i * 4 + 1]!, addressAt(r, i));
        if (pending) await this.track(pending);
      } else {
        this.handleEvent(kind, w0 >>> 20, r, i);
      }
      i += 1 + cont;
    }
  }

  /** Keeps an async resolution in flight; waits when the worker's scratch budget is used up. */
  private async track(p: Promise<void>): Promise<void> {
    const tracked = p.finally(() => this.inflight.delete(tracked));
    this.inflight.add(tracked);
    if (this.inflight.size >= this.task.maxInflight) await Promise.race(this.inflight);
  }

  /** Returns a promise only when the resolver answered asynchronously. */
  private handleFault(uffdId: number, flags: number, tid: number, address: number): Promise<void> | undefined {
    const ps = this.task.pageSize;
    const fd = this.uffdFds[uffdId]!;
    const page = address - (address % ps);
    this.faults++;
    const hit = this.hit;
    if (!this.table.lookup(uffdId, page, hit)) {
      // Registered memory we were not told about: nobody can produce it. Fail loudly
      // (SIGBUS) rather than hand out zeros the owner never asked for.
      this.report(-1, page, -1, this.settleFailed(fd, -1, page, false), {
        code: 'ERR_FAULTLINE_UNKNOWN_ADDRESS',
        message: `fault at 0x${page.toString(16)} (uffd ${uffdId}) is in no served region`,
      });
      return undefined;
    }
    const regionId = hit.regionId;
    this.stats.add(regionId, STAT.faults);
    const sampleEvery = Atomics.load(this.control, CONTROL_SAMPLE_EVERY);
    if (sampleEvery > 0 && this.faults % sampleEvery === 0) {
      this.post({ type: 'fault-sample', worker: this.task.index, uffdId, regionId, address, write: (flags & FLAG_WRITE) !== 0, tid });
    }
    if ((flags & FLAG_WP) !== 0) {
      // Write-protect fault: the page exists; lift the protection (mode 0 wakes).
      native.uffdWriteprotect(fd, page, ps, 0);
      return undefined;
    }
    if (hit.state === ENTRY_ZERO) {
      this.finish(fd, regionId, 'zero', page, ps, null, hit.flags, 0);
      return undefined;
    }
    const resolver = this.resolvers.get(regionId);
    if (!resolver) {
      // The region is being unmapped (its resolver already dropped): re-deliver;
      // the thread re-faults into plain memory once the range is unregistered.
      this.installer.retry(fd, regionId, page);
      return undefined;
    }
    const end = hit.start + hit.length;
    const pages = (flags & FLAG_MINOR) !== 0 ? 1 : Math.max(1, Math.min(hit.readahead, (end - page) / ps));
    const length = pages * ps;
    const offset = hit.offset + (page - hit.start);
    const flagsCopy = hit.flags;
    const scratch = this.takeScratch(length);
    const req = this.inflight.size === 0 ? this.request : ({} as ResolveRequest);
    req.offset = offset;
    req.length = length;
    req.address = page;
    req.write = (flags & FLAG_WRITE) !== 0;
    req.pageSize = ps;
    req.regionId = regionId;
    req.uffdId = uffdId;
    if (scratch.sized.length !== length) scratch.sized = scratch.view.subarray(0, length);
    const out = scratch.sized;
    this.stats.add(regionId, STAT.resolverCalls);
    let result: ResolveResult | Promise<ResolveResult>;
    try {
      result = resolver.resolve(req, out);
    } catch (err) {
      this.releaseScratch(scratch);
      this.fail(fd, regionId, page, offset, flagsCopy, err);
      return undefined;
    }
    if (isThenable(result)) {
      return result.then(
        (value) => {
          this.apply(fd, regionId, page, offset, length, flagsCopy, value, out);
          this.releaseScratch(scratch);
        },
        (err: unknown) => {
          this.releaseScratch(scratch);
          this.fail(fd, regionId, page, offset, flagsCopy, err);
        },
      );
    }
    this.apply(fd, regionId, page, offset, length, flagsCopy, result, out);
    this.releaseScratch(scratch);
    return undefined;
  }

  private apply(
    fd: number,
    regionId: number,
    page: number,
    offset: number,
    length: number,
    flags: number,
    result: ResolveResult,
    out: Uint8Array,
  ): void {
    const ps = this.task.pageSize;
    if (result === undefined || result === null) {
      this.finish(fd, regionId, 'copy', page, length, out, flags, offset);
      return;
    }
    if (typeof result === 'string') {
      switch (result) {
        case 'zero':
          this.finish(fd, regionId, 'zero', page, length, null, flags, offset);
          return;
        case 'poison':
          this.finish(fd, regionId, 'poison', page, ps, null, flags, offset);
          return;
        case 'continue':
          this.finish(fd, regionId, 'continue', page, ps, null, flags, offset);
          return;
        case 'retry':
          this.installer.retry(fd, regionId, page);
          return;
      }
    } else if (typeof result === 'object') {
      if ('source' in result && ArrayBuffer.isView(result.source)) {
        const n = Math.min(length, result.source.byteLength - (result.source.byteLength % ps));
        if (n >= ps) {
          this.finish(fd, regionId, 'copy', page, n, result.source, flags, offset);
          return;
        }
      } else if ('filled' in result && typeof result.filled === 'number') {
        const n = Math.min(length, result.filled - (result.filled % ps));
        if (n >= ps) {
          this.finish(fd, regionId, 'copy', page, n, out, flags, offset);
          return;
        }
      }
    }
    this.fail(
      fd,
      regionId,
      page,
      offset,
      flags,
      new FaultlineError(
        'ERR_FAULTLINE_RESOLVER_RESULT',
        `resolver returned ${describe(result)}; expected undefined (out filled), { filled: bytes >= one page }, ` +
          "{ source: view of >= one page }, 'zero', 'poison', 'retry' or 'continue'",
      ),
    );
  }

  private finish(
    fd: number,
    regionId: number,
    kind: InstallKind,
    page: number,
    length: number,
    source: ArrayBufferView | null,
    flags: number,
    offset: number,
  ): void {
    const outcome = this.installer.install(fd, regionId, kind, page, length, source);
    if (!outcome.ok) {
      const err = new FaultlineError(
        'ERR_FAULTLINE_INSTALL_FAILED',
        `${kind} of ${length} bytes at 0x${page.toString(16)} failed with errno ${-outcome.errno}`,
      );
      // A poison the resolver asked for falls back to a zero page (the uffd may
      // lack UFFD_FEATURE_POISON); a failed zero page can only be woken.
      this.fail(fd, regionId, page, offset, kind === 'poison' || kind === 'zero' ? flags | FLAG_ON_ERROR_ZERO : flags, err);
    }
  }

  /** Resolver or install failure: apply the region's policy so the faulting thread is never left parked. */
  private fail(fd: number, regionId: number, page: number, offset: number, flags: number, err: unknown): void {
    this.stats.add(regionId, STAT.errors);
    const action = this.settleFailed(fd, regionId, page, (flags & FLAG_ON_ERROR_ZERO) !== 0);
    this.report(regionId, page, offset, action, err);
  }

  /**
   * Answers a fault that cannot be served: SIGBUS through POISON unless the
   * policy is zero-fill; a zero page when POISON is refused (an adopted uffd
   * without the feature); as a last resort a bare WAKE (the thread re-faults
   * and the failure is reported again). Returns what the thread got.
   */
  private settleFailed(fd: number, regionId: number, page: number, zeroPolicy: boolean): 'poisoned' | 'zeroed' | 'none' {
    const ps = this.task.pageSize;
    if (!zeroPolicy && this.installer.install(fd, regionId, 'poison', page, ps, null).ok) return 'poisoned';
    if (this.installer.install(fd, regionId, 'zero', page, ps, null).ok) return 'zeroed';
    native.uffdWake(fd, page, ps);
    return 'none';
  }

  private report(regionId: number, address: number, offset: number, action: 'poisoned' | 'zeroed' | 'none', err: unknown): void {
    this.post({
      type: 'resolver-error',
      worker: this.task.index,
      regionId,
      address,
      offset,
      action,
      error: toWireError(err, 'ERR_FAULTLINE_RESOLVER_FAILED'),
    });
  }

  private handleEvent(kind: number, uffdId: number, r: Uint32Array, i: number): void {
    try {
      this.events++;
      const arg0 = addressAt(r, i);
      switch (kind) {
        case KIND_FORK: {
          const child = arg0;
          this.table.cloneUffd(uffdId, child);
          this.post({ type: 'uffd-event', worker: this.task.index, uffdId, event: { kind: 'fork', childUffdId: child } });
          break;
        }
        case KIND_REMAP: {
          const to = addressAt(r, i + 1);
          const len = addressAt(r, i + 2);
          this.table.remap(uffdId, arg0, to, len);
          this.post({ type: 'uffd-event', worker: this.task.index, uffdId, event: { kind: 'remap', from: arg0, to, length: len } });
          break;
        }
        case KIND_REMOVE: {
          const end = addressAt(r, i + 1);
          this.table.zeroRange(uffdId, arg0, end);
          this.post({ type: 'uffd-event', worker: this.task.index, uffdId, event: { kind: 'remove', start: arg0, end } });
          break;
        }
        case KIND_UNMAP: {
          const end = addressAt(r, i + 1);
          this.table.unmapRange(uffdId, arg0, end);
          this.post({ type: 'uffd-event', worker: this.task.index, uffdId, event: { kind: 'unmap', start: arg0, end } });
          break;
        }
        default:
          break; // unknown kinds are skipped whole (their continuations with them)
      }
    } finally {
      // Releases the reader's event barrier (docs/ring.md §7): records after
      // this event are published only now, so none is looked up in a stale table.
      Atomics.add(this.ring.i32, W_EVENTS_APPLIED, 1);
    }
  }

  private async drainControl(): Promise<void> {
    this.controlSeen = Atomics.load(this.control, CONTROL_SEQ);
    for (;;) {
      const packet = receiveMessageOnPort(this.task.port);
      if (!packet) return;
      await this.onControl(packet.message as ToWorker);
    }
  }

  private async onControl(msg: ToWorker): Promise<void> {
    const worker = this.task.index;
    if (msg.type === 'load-resolver') {
      try {
        this.ensureScratch(msg.readahead * this.task.pageSize);
        await this.resolvers.load(msg.regionId, msg.spec, {
          pageSize: this.task.pageSize,
          regionSize: msg.regionSize,
          regionId: msg.regionId,
          name: msg.name,
        });
        this.post({ type: 'resolver-loaded', worker, regionId: msg.regionId });
      } catch (err) {
        this.post({ type: 'resolver-loaded', worker, regionId: msg.regionId, error: toWireError(err, 'ERR_FAULTLINE_RESOLVER_LOAD') });
      }
    } else if (msg.type === 'drop-resolver') {
      try {
        await this.resolvers.drop(msg.regionId);
      } finally {
        this.post({ type: 'resolver-dropped', worker, regionId: msg.regionId });
      }
    }
  }

  private newScratch(): Scratch {
    // Page-aligned scratch from mmap: the kernel copies from it straight into the faulting range.
    const view = new Uint8Array(native.mapAnonymous(this.scratchBytes).buffer);
    return { view, sized: view };
  }

  private ensureScratch(bytes: number): void {
    if (bytes <= this.scratchBytes) return;
    this.scratchBytes = bytes;
    this.freeScratch.length = 0; // older, smaller buffers are dropped as they come back
  }

  private takeScratch(bytes: number): Scratch {
    for (;;) {
      const s = this.freeScratch.pop() ?? this.newScratch();
      if (s.view.length >= bytes) return s;
    }
  }

  private releaseScratch(s: Scratch): void {
    if (s.view.length >= this.scratchBytes) this.freeScratch.push(s);
  }

  private post(msg: FromWorker): void {
    this.task.port.postMessage(msg);
  }
}

/** Message heads among the first `n` records (a message spans 1 + cont records). */
function countMessages(r: Uint32Array, n: number): number {
  let messages = 0;
  for (let i = 0; i < n; i += 1 + ((r[i * 4]! >>> 16) & 0xf)) messages++;
  return messages;
}

function addressAt(r: Uint32Array, i: number): number {
  return r[i * 4 + 3]! * 0x100000000 + r[i * 4 + 2]!;
}

function isThenable(v: unknown): v is Promise<ResolveResult> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null) return 'null';
  if (typeof v === 'object') return `an object with keys [${Object.keys(v as object).join(', ')}]`;
  return typeof v;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export type { PageResolver };

/** Piscina task entry: runs until the handler closes the ring. */
export default async function serve(task: ServeTask): Promise<ServeSummary> {
  return new ServeLoop(task).run();
}
