/**
 * Serving one page fault: look the address up in the region table, ask the
 * region's resolver for the bytes, turn its answer into one install.
 *
 *   lookup miss            -> FailurePolicy.unknownAddress (SIGBUS)
 *   write-protect fault    -> lift the protection (the page exists); a region
 *                             tracking writes in 'sync' mode notes the page
 *                             in its dirty bitmap first (shared/dirty-bitmap.ts)
 *   removed range (REMOVE) -> zero page, whatever the resolver would say
 *   resolver dropped       -> re-deliver (the region is being unmapped)
 *   resolver answer        -> see applyResult; anything else is a failure
 *
 * Everything else a fault needs travels in a Fault object. The one for
 * synchronous answers is reused, so the common path allocates nothing; a
 * resolution that goes async gets its own.
 */
import { FaultlineError } from '../errors.js';
import type { PageResolver, ResolveRequest, ResolveResult } from '../resolver.js';
import { FLAG_MINOR, FLAG_WP, FLAG_WRITE } from '../ring/layout.js';
import type { FaultTraceBuffer } from '../shared/fault-trace.js';
import {
  ENTRY_ZERO,
  FLAG_INSTALL_MOVE,
  FLAG_ON_ERROR_ZERO,
  FLAG_RECORD,
  FLAG_TRACK_WRITES,
  LookupResult,
  type RegionTable,
} from '../shared/region-table.js';
import { STAT, type StatsBlock } from '../shared/region-stats.js';
import type { UffdTable } from '../shared/uffd-table.js';
import type { FailurePolicy } from './failure.js';
import type { FaultInstaller, InstallKind } from './installer.js';
import { ScratchPool, type Scratch } from './scratch.js';
import { M_ACTIVE, M_END, M_EPOCH, M_FIRST, enterInstallGate, leaveInstallGate, waitForRoom } from '../shared/eviction-marker.js';
import { serveWriteFault } from '../shared/dirty-bitmap.js';

/** One fault on its way from the table lookup to the install. */
class Fault {
  fd = -1;
  regionId = -1;
  /** Page-aligned address of the first page to install. */
  page = 0;
  /** The range's page size (the system's, or a huge page's on hugetlbfs). */
  pageSize = 0;
  /** Resolver offset of `page`. */
  offset = 0;
  /** Bytes requested from the resolver (one page, or a readahead run). */
  length = 0;
  /** Failures give a zero page (region onError 'zero') instead of SIGBUS. */
  zeroPolicy = false;
  /** The region tracks writes: its pages are installed write-protected. */
  writeProtect = false;
  /** The region installs its scratch pages by UFFDIO_MOVE (install: 'move'). */
  move = false;
  scratch: Scratch | null = null;
  /** What the resolver sees (a separate object: the fields above are not its business). */
  readonly request: ResolveRequest;
  /** An async resolution holds this Fault: the next fault needs another. */
  held = false;
  /** Resolver calls made after the first (onError { retry }). */
  attempts = 0;
  /** An evicting region's marker, and its M_EPOCH before the fault looked at it (installs check it). */
  eviction: Int32Array | null = null;
  evictionEpoch = 0;

  constructor(pageSize: number) {
    this.request = { offset: 0, length: 0, address: 0, write: false, minor: false, pageSize, regionId: 0, uffdId: 0 };
  }
}

/** The resolvers a worker has loaded, by region id. */
export interface ResolverLookup {
  get(regionId: number): PageResolver | undefined;
  /** The region's eviction marker, if it evicts (worker/evictor-thread.ts). */
  evictionOf?(regionId: number): Int32Array | undefined;
  /** The region's dirty bitmap, if it tracks writes with synchronous WP faults. */
  dirtyBitmapOf?(regionId: number): Int32Array | undefined;
}

/** Called for every fault that found its region (the serve loop samples 'fault' events from it). */
export type FaultObserver = (uffdId: number, regionId: number, address: number, faultFlags: number, tid: number) => void;

/** What the fault server must know of the handler's state and deadlines. */
export interface FaultDeadlines {
  /** True once close() began: faults read from now on get their region's failure policy. */
  closing(): boolean;
  /** How long region `regionId`'s resolver may take for one fault, ms. */
  resolveTimeoutMs(regionId: number): number;
  /** How many more times region `regionId`'s resolver is called after a failure. */
  retries(regionId: number): number;
  /** A synchronous resolver call begins / ends (published for the main thread's watchdog). */
  beginCall(uffdId: number, page: number, regionId: number): void;
  endCall(): void;
}

export interface FaultServerDeps {
  pageSize: number;
  table: RegionTable;
  uffds: UffdTable;
  stats: StatsBlock;
  resolvers: ResolverLookup;
  installer: FaultInstaller;
  failures: FailurePolicy;
  scratch: ScratchPool;
  deadlines: FaultDeadlines;
  observe?: FaultObserver;
  /** Where recording regions' first touches go, and the handler's epoch (Date.now() at create) its times count from. */
  trace?: { buffer: FaultTraceBuffer; epochMs: number };
}

export class FaultServer {
  private readonly hit = new LookupResult();
  private readonly reusable: Fault;
  private readonly ps: number;

  constructor(private readonly deps: FaultServerDeps) {
    this.ps = deps.pageSize;
    this.reusable = new Fault(deps.pageSize);
  }

  /**
   * Serves the fault at `address` of uffd `uffdId` (`faultFlags`: the ring
   * record's FLAG_*; `tid`: the faulting thread or 0). Returns a promise only
   * when the resolver answered asynchronously; it never rejects.
   */
  serve(uffdId: number, faultFlags: number, tid: number, address: number): Promise<void> | undefined {
    const { table, uffds, stats, installer, failures } = this.deps;
    const fd = uffds.fdOf(uffdId);
    const hit = this.hit;
    if (!table.lookup(uffdId, address - (address % this.ps), hit)) {
      failures.unknownAddress(fd, uffdId, address - (address % this.ps));
      return undefined;
    }
    // The range's own page size: hugetlbfs ranges fault and install whole huge pages.
    const ps = hit.pageSize || this.ps;
    const page = address - (address % ps);
    const regionId = hit.regionId;
    stats.add(regionId, STAT.faults);
    this.deps.observe?.(uffdId, regionId, address, faultFlags, tid);
    if ((faultFlags & FLAG_WP) !== 0) {
      const bits = hit.dirtyBitmap !== 0 ? this.deps.resolvers.dirtyBitmapOf?.(regionId) : undefined;
      if (bits === undefined) installer.unprotect(fd, regionId, page, ps);
      else serveWriteFault(bits, (hit.offset + (page - hit.start)) / ps, () => installer.unprotect(fd, regionId, page, ps));
      return undefined;
    }
    const f = this.reusable.held ? new Fault(ps) : this.reusable;
    f.fd = fd;
    f.regionId = regionId;
    f.page = page;
    f.pageSize = ps;
    f.offset = hit.offset + (page - hit.start);
    f.zeroPolicy = (hit.flags & FLAG_ON_ERROR_ZERO) !== 0;
    f.writeProtect = (hit.flags & FLAG_TRACK_WRITES) !== 0;
    f.move = (hit.flags & FLAG_INSTALL_MOVE) !== 0;
    if (hit.state === ENTRY_ZERO) {
      this.install(f, 'zero', ps, null);
      return undefined;
    }
    if (this.deps.deadlines.closing()) {
      this.fail(f, CLOSING, f.zeroPolicy);
      return undefined;
    }
    const resolver = this.deps.resolvers.get(regionId);
    if (!resolver) {
      // The region is being unmapped (its resolver already dropped): re-deliver;
      // the thread re-faults into plain memory once the range is unregistered.
      installer.retry(fd, regionId, page, ps);
      return undefined;
    }
    // Recorded before the install wakes the thread (see the native path: the same rule).
    if ((hit.flags & FLAG_RECORD) !== 0) this.recordTouch(f);
    // A page of a run being evicted: its bytes are on their way to the store. Re-deliver
    // until the run is released; then the resolver gives the written-back bytes.
    const eviction = this.deps.resolvers.evictionOf?.(regionId);
    f.eviction = eviction ?? null;
    if (eviction !== undefined) {
      // Read before the look at the marker: a run published after it changes the epoch, and the
      // install (which the resolver's read can precede by a long time) then re-delivers instead.
      f.evictionEpoch = Atomics.load(eviction, M_EPOCH);
      if (Atomics.load(eviction, M_ACTIVE) === 1) {
        const index = f.offset / ps;
        if (index >= Atomics.load(eviction, M_FIRST) && index < Atomics.load(eviction, M_END)) {
          installer.retry(fd, regionId, page, ps);
          return undefined;
        }
      }
      // Over its hard cap: let the evictor make room first (bounded: the fault is served either way).
      waitForRoom(eviction, () => stats.get(regionId, STAT.pagesInstalled), EVICTION_WAIT_MS);
    }
    const end = hit.start + hit.length;
    // An evicting region's readahead windows are the native path's alone: they must exclude the
    // evictor's moves (native evict/eviction_marker.h), which nothing in JS can. Here, one page.
    const single = (faultFlags & FLAG_MINOR) !== 0 || eviction !== undefined;
    const pages = single ? 1 : Math.max(1, Math.min(hit.readahead, (end - page) / ps));
    f.length = pages * ps;
    const req = f.request;
    req.offset = f.offset;
    req.length = f.length;
    req.address = page;
    req.write = (faultFlags & FLAG_WRITE) !== 0;
    req.minor = (faultFlags & FLAG_MINOR) !== 0;
    req.regionId = regionId;
    req.uffdId = uffdId;
    req.pageSize = ps;
    f.attempts = 0;
    return this.attempt(f, resolver);
  }

  /**
   * One call of the resolver for `f`, with its own scratch. A failure (throw,
   * rejection, timeout, invalid answer) is retried while the region allows
   * (onError { retry }), then gets the region's policy.
   */
  private attempt(f: Fault, resolver: PageResolver): Promise<void> | undefined {
    const { deadlines, stats } = this.deps;
    const scratch = this.deps.scratch.take(f.length);
    f.scratch = scratch;
    const out = ScratchPool.view(scratch, f.length);
    // Scratch is reused across regions and requests: a resolver that answers
    // "filled" without writing every byte must install zeros, never the bytes
    // of another region or request.
    out.fill(0);
    stats.add(f.regionId, STAT.resolverCalls);
    let result: ResolveResult | Promise<ResolveResult>;
    deadlines.beginCall(f.request.uffdId, f.page, f.regionId);
    try {
      result = resolver.resolve(f.request, out);
    } catch (err) {
      deadlines.endCall();
      this.done(f);
      return this.failed(f, resolver, err);
    }
    deadlines.endCall();
    if (isThenable(result)) return this.settleAsync(f, resolver, result, out, deadlines.resolveTimeoutMs(f.regionId));
    const invalid = this.applyResult(f, result, out);
    this.done(f);
    return invalid ? this.failed(f, resolver, invalid) : undefined;
  }

  /** A resolver failure: another attempt if the region allows one, else the region's policy. */
  private failed(f: Fault, resolver: PageResolver, err: unknown): Promise<void> | undefined {
    if (f.attempts < this.deps.deadlines.retries(f.regionId)) {
      f.attempts++;
      return this.attempt(f, resolver);
    }
    this.fail(f, err, f.zeroPolicy);
    return undefined;
  }

  /**
   * Waits for an async answer, at most `timeoutMs`: past it the attempt
   * failed (ERR_FAULTLINE_RESOLVER_TIMEOUT) and its late answer, whenever it
   * comes, is dropped. The attempt's scratch stays with it until it settles: a
   * late resolver may still write into it (a retry gets a scratch of its own).
   */
  private settleAsync(f: Fault, resolver: PageResolver, result: Promise<ResolveResult>, out: Uint8Array, timeoutMs: number): Promise<void> {
    f.held = true;
    const scratch = f.scratch;
    return new Promise<void>((resolve) => {
      let expired = false;
      const finish = (next: Promise<void> | undefined): void => {
        if (next) next.then(resolve, resolve);
        else resolve();
      };
      const timer = setTimeout(() => {
        expired = true;
        f.scratch = null; // the late answer releases it
        finish(
          this.failed(
            f,
            resolver,
            new FaultlineError(
              'ERR_FAULTLINE_RESOLVER_TIMEOUT',
              `the resolver did not answer within ${timeoutMs} ms (region resolveTimeoutMs); its answer, if it comes, is dropped`,
            ),
          ),
        );
      }, timeoutMs);
      const late = (): void => {
        if (scratch) this.deps.scratch.release(scratch);
      };
      result.then(
        (value) => {
          clearTimeout(timer);
          if (expired) return late();
          const invalid = this.applyResult(f, value, out);
          this.done(f);
          finish(invalid ? this.failed(f, resolver, invalid) : undefined);
        },
        (err: unknown) => {
          clearTimeout(timer);
          if (expired) return late();
          this.done(f);
          finish(this.failed(f, resolver, err));
        },
      );
    });
  }

  /**
   * What a resolver's answer installs:
   *   undefined / null       out, all f.length bytes
   *   { filled: n }          out's first n bytes, rounded down to pages (>= 1 page)
   *   { source: view }       the view's bytes instead of out, rounded down (>= 1 page)
   *   'zero'                 zero pages over f.length
   *   'poison'               the faulting page poisoned (SIGBUS)
   *   'continue'             the page-cache page mapped (minor faults)
   *   'retry'                nothing: the thread is woken and faults again
   * Anything else is an ERR_FAULTLINE_RESOLVER_RESULT error, returned for the
   * caller to retry or fail (installs themselves apply the policy on error).
   */
  private applyResult(f: Fault, result: ResolveResult, out: Uint8Array): FaultlineError | null {
    const ps = f.pageSize;
    if (result === undefined || result === null) {
      this.install(f, f.move ? 'move' : 'copy', f.length, out);
      return null;
    }
    if (typeof result === 'string') {
      switch (result) {
        case 'zero':
          this.install(f, 'zero', f.length, null);
          return null;
        case 'poison':
          this.install(f, 'poison', ps, null);
          return null;
        case 'continue':
          this.install(f, 'continue', f.length, null);
          return null;
        case 'retry':
          this.deps.installer.retry(f.fd, f.regionId, f.page, f.pageSize);
          return null;
      }
    } else if (typeof result === 'object') {
      if ('source' in result && ArrayBuffer.isView(result.source)) {
        const n = Math.min(f.length, result.source.byteLength - (result.source.byteLength % ps));
        if (n >= ps) {
          this.install(f, 'copy', n, result.source);
          return null;
        }
      } else if ('filled' in result && typeof result.filled === 'number') {
        const n = Math.min(f.length, result.filled - (result.filled % ps));
        if (n >= ps) {
          this.install(f, f.move ? 'move' : 'copy', n, out);
          return null;
        }
      }
    }
    return new FaultlineError(
      'ERR_FAULTLINE_RESOLVER_RESULT',
      `resolver returned ${describe(result)}; expected undefined (out filled), { filled: bytes >= one page }, ` +
        "{ source: view of >= one page }, 'zero', 'poison', 'retry' or 'continue'",
    );
  }

  private install(f: Fault, kind: InstallKind, length: number, source: ArrayBufferView | null): void {
    const { installer } = this.deps;
    const eviction = f.eviction;
    if (eviction !== null && !enterInstallGate(eviction, f.evictionEpoch)) {
      // A run was moved out since the resolver read: its bytes may be older than the store's (a
      // stale fault whose page another install served, was written and went out meanwhile). The
      // thread, if it still waits, faults again and the page is resolved anew.
      installer.retry(f.fd, f.regionId, f.page, f.pageSize);
      return;
    }
    let res: number;
    try {
      res = installer.install(f.fd, f.regionId, kind, f.page, length, source, f.pageSize, f.writeProtect);
    } finally {
      if (eviction !== null) leaveInstallGate(eviction);
    }
    if (res === 0) return;
    const err = new FaultlineError(
      'ERR_FAULTLINE_INSTALL_FAILED',
      `${kind} of ${length} bytes at 0x${f.page.toString(16)} failed with errno ${-res}`,
    );
    // A poison the resolver asked for falls back to a zero page (the uffd may
    // lack UFFD_FEATURE_POISON); so does a failed zero page (which then can
    // only be woken).
    this.fail(f, err, f.zeroPolicy || kind === 'poison' || kind === 'zero');
  }

  /** A first touch: into the fault trace (the JS twin of the native path's append). */
  private recordTouch(f: Fault): void {
    const trace = this.deps.trace;
    if (!trace) return;
    const us = (performance.timeOrigin + performance.now() - trace.epochMs) * 1000;
    trace.buffer.append(f.regionId, f.offset / f.pageSize, us);
  }

  private fail(f: Fault, err: unknown, zeroPolicy: boolean): void {
    this.deps.failures.fail(f.fd, f.regionId, f.page, f.pageSize, f.offset, zeroPolicy, err);
  }

  /** The resolution is over: its scratch goes back and the Fault may be reused. */
  private done(f: Fault): void {
    if (f.scratch) this.deps.scratch.release(f.scratch);
    f.scratch = null;
    f.held = false;
  }
}

/** Longest a fault in a region over its hard cap waits for the evictor, ms. */
const EVICTION_WAIT_MS = 50;

const CLOSING = new FaultlineError(
  'ERR_FAULTLINE_CLOSED',
  "the FaultHandler is closing: faults read from now on get their region's onError policy",
);

function isThenable(v: unknown): v is Promise<ResolveResult> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null) return 'null';
  if (typeof v === 'object') return `an object with keys [${Object.keys(v as object).join(', ')}]`;
  return typeof v;
}
