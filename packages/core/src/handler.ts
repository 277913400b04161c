/**
 * FaultHandler: owns the uffds, the reader thread, the ring, the region table
 * and the worker pool. The main thread only sets things up and tears them
 * down; faults are resolved entirely by the reader and the workers.
 */
import { EventEmitter } from 'eventemitter3';
import { availableParallelism, release } from 'node:os';
import native from '@faultline/native';
import { FaultlineError } from './errors.js';
import { FEATURE_BITS, featureMask, featureNames, isFeatureName, type FeatureName } from './features.js';
import { FaultRing } from './ring/index.js';
import { ENTRY_REGION, FLAG_ON_ERROR_ZERO, RegionTable } from './region-table.js';
import { StatsBlock, type RegionStats } from './region-stats.js';
import type { ResolverSpec } from './resolver.js';
import { checkAddress, checkOnError, checkPositiveInt, checkResolverSpec, checkSize } from './validate.js';
import {
  CONTROL_BUSY_BASE,
  CONTROL_DIRECT_MESSAGES,
  CONTROL_SAMPLE_EVERY,
  CONTROL_WORDS,
  type FromWorker,
} from './worker/protocol.js';
import { WorkerPool } from './worker-pool.js';
import { Region } from './region.js';
import { AdoptedUffd, type UffdEvent } from './adopted.js';
import { inspectUffd } from './uffd-info.js';

export interface FaultHandlerOptions {
  /** Worker threads, each running one resident serve loop. Default 2. */
  workers?: number;
  /** Ring capacity in 16-byte records (power of two). Default 4096. */
  ringCapacity?: number;
  /** Ring checks (and, with directPoll, uffd polls every 16th) a worker makes before parking. Default 200, or 1 when this process may use only one CPU. */
  spin?: number;
  /** Longest single park of a worker, ms. Default 100. */
  parkMs?: number;
  /** Async resolutions in flight per worker. Default 32. */
  maxInflight?: number;
  /**
   * Idle workers park on the uffd itself and read faults directly, so a fault
   * costs one wake-up instead of two (the reader thread then covers only the
   * busy case). Default true; ignored (off) when `features` asks for events,
   * which must pass through the reader. docs/performance.md has the numbers.
   */
  directPoll?: boolean;
  /** Open the uffd with UFFD_USER_MODE_ONLY (works unprivileged; kernel accesses to regions then fail). */
  userModeOnly?: boolean;
  /** Extra uffd features for this process's own uffd. */
  features?: FeatureName[];
  /** Regions (mapped + adopted) alive at once. Default 256. */
  maxRegions?: number;
  /** Period of 'stats' events while someone listens, ms. Default 1000. */
  statsIntervalMs?: number;
  /** Emit a 'fault' event for one fault in N (0: never). Default 0. */
  faultSampleEvery?: number;
}

export interface MapOptions {
  /** Bytes; a positive multiple of the page size. */
  size: number;
  resolver: ResolverSpec;
  /** Pages filled per fault (one install). Default 1. */
  readahead?: number;
  /** What a resolver failure does to the faulting thread: 'sigbus' (poison the page, default) or 'zero'. */
  onError?: 'sigbus' | 'zero';
  name?: string;
}

export interface AdoptRegion {
  /** Start address in the target process (page-aligned). */
  address: number;
  size: number;
  resolver: ResolverSpec;
  /** Resolver offset of `address` (e.g. the region's offset in a memory file). Default 0. */
  offset?: number;
  readahead?: number;
  /**
   * As for map(). Default 'sigbus' when the peer's uffd has UFFD_FEATURE_POISON,
   * else 'zero' (SIGBUS cannot be delivered without it; asking for 'sigbus'
   * then is refused with ERR_FAULTLINE_FEATURE_UNSUPPORTED).
   */
  onError?: 'sigbus' | 'zero';
  name?: string;
}

export interface AdoptOptions {
  regions: AdoptRegion[];
  /**
   * The events this program is prepared to see (default: all four). If the
   * peer negotiated an event not listed, adopt() refuses with
   * ERR_FAULTLINE_FEATURE_UNSUPPORTED instead of surprising you later.
   */
  events?: Array<'fork' | 'remap' | 'remove' | 'unmap'>;
}

const EVENT_FEATURES = ['fork', 'remap', 'remove', 'unmap'] as const;

export interface FaultSample {
  uffdId: number;
  regionId: number;
  address: number;
  write: boolean;
  tid: number;
}

/** A resolver failure, as emitted on 'error'. */
export class ResolverFailure extends FaultlineError {
  constructor(
    code: string,
    message: string,
    readonly regionId: number,
    readonly address: number,
    readonly offset: number,
    /** What the faulting thread got: 'poisoned' (SIGBUS), 'zeroed', or 'none'. */
    readonly action: 'poisoned' | 'zeroed' | 'none',
  ) {
    super(code, message);
    this.name = 'ResolverFailure';
  }
}

export interface HandlerStats {
  /** The reader thread's counters: `messages` are the uffd messages it read. */
  reader: native.ReaderStats;
  /** Messages idle workers read from the own uffd themselves (0 with directPoll off). */
  direct: { messages: number };
  ring: ReturnType<FaultRing['stats']>;
  regions: Record<string, RegionStats>;
}

export interface FaultHandlerEvents {
  error: [ResolverFailure];
  fault: [FaultSample];
  'uffd-event': [UffdEvent];
  stats: [HandlerStats];
}

const UFFD_TABLE_SIZE = 4096;

/**
 * Ring checks before a worker parks. Spinning keeps a CPU awake so the next
 * fault costs no wake-up, but only pays while another CPU runs the faulting
 * thread: with one CPU the spinner steals the very time the faulting thread
 * needs (measured 4x slower, docs/performance.md), so there it parks at once.
 */
function defaultSpin(): number {
  return availableParallelism() >= 2 ? 200 : 1;
}

export class FaultHandler extends EventEmitter<FaultHandlerEvents> {
  readonly pageSize: number;
  /** Features granted on this process's own uffd. */
  readonly features: FeatureName[];
  private readonly fd: number;
  private readonly ownUffdId: number;
  private readonly ring: FaultRing;
  private readonly table: RegionTable;
  private readonly statsBlock: StatsBlock;
  private readonly uffdFds: Int32Array;
  private readonly control: Int32Array;
  private readonly reader: native.Reader;
  /** Where idle workers park to read the own uffd themselves; null when off. */
  private readonly direct: { epollFd: number; kickFd: number } | null;
  private readonly pool: WorkerPool;
  private readonly regions = new Map<number, Region | AdoptedUffd>();
  private readonly adopted = new Map<number, AdoptedUffd>();
  private readonly freeRegionIds: number[] = [];
  private nextRegionId = 0;
  private readonly maxRegions: number;
  private statsTimer: NodeJS.Timeout | undefined;
  private state: 'open' | 'closing' | 'closed' = 'open';

  /** Opens a uffd, starts the reader thread and the workers. */
  static async create(options: FaultHandlerOptions = {}): Promise<FaultHandler> {
    const workers = checkPositiveInt('workers', options.workers ?? 2, 64);
    const ringCapacity = checkPositiveInt('ringCapacity', options.ringCapacity ?? 4096, 1 << 24);
    if ((ringCapacity & (ringCapacity - 1)) !== 0) {
      throw new FaultlineError('ERR_FAULTLINE_INVALID_ARGUMENT', `ringCapacity must be a power of two, got ${ringCapacity}`);
    }
    const maxRegions = checkPositiveInt('maxRegions', options.maxRegions ?? 256, 65536);
    const userModeOnly = options.userModeOnly ?? false;
    if (options.directPoll !== undefined && typeof options.directPoll !== 'boolean') {
      throw new FaultlineError('ERR_FAULTLINE_INVALID_ARGUMENT', `directPoll must be true or false, got ${typeof options.directPoll}`);
    }
    const wanted = options.features ?? [];
    for (const f of wanted) {
      if (!isFeatureName(f)) {
        throw new FaultlineError(
          'ERR_FAULTLINE_INVALID_ARGUMENT',
          `unknown uffd feature '${String(f)}'; known: ${Object.keys(FEATURE_BITS).join(', ')}`,
        );
      }
    }
    const offered = native.uffdProbe({ userModeOnly }).features;
    const missing = featureNames(featureMask(wanted) & ~offered);
    if (missing.length > 0) {
      throw new FaultlineError(
        'ERR_FAULTLINE_FEATURE_UNSUPPORTED',
        `this kernel (${release()}) does not offer uffd features: ${missing.join(', ')}` +
          (missing.includes('fork') ? ' (event fork also needs CAP_SYS_PTRACE)' : ''),
      );
    }
    // POISON backs the default failure policy (SIGBUS on the faulting thread);
    // THREAD_ID costs nothing and lets 'fault' samples name the thread.
    const requested = featureMask(wanted) | (offered & (FEATURE_BITS.poison | FEATURE_BITS['thread-id']));
    const fd = native.uffdCreate({ userModeOnly });
    let granted: number;
    try {
      granted = native.uffdApi(fd, requested).features;
    } catch (err) {
      native.closeFd(fd);
      throw err;
    }
    let handler: FaultHandler;
    try {
      handler = new FaultHandler(fd, granted, ringCapacity, workers, maxRegions, options);
    } catch (err) {
      native.closeFd(fd);
      throw err;
    }
    try {
      await handler.startWorkers(options, workers);
    } catch (err) {
      handler.releaseNative();
      throw err;
    }
    return handler;
  }

  private constructor(
    fd: number,
    granted: number,
    ringCapacity: number,
    private readonly workerCount: number,
    maxRegions: number,
    private readonly options: FaultHandlerOptions,
  ) {
    super();
    this.pageSize = native.pageSize();
    this.fd = fd;
    this.features = featureNames(granted);
    this.maxRegions = maxRegions;
    this.ring = FaultRing.create(ringCapacity);
    this.table = RegionTable.create(Math.max(64, maxRegions * 4));
    this.statsBlock = StatsBlock.create(maxRegions);
    const uffdTableSab = new SharedArrayBuffer(UFFD_TABLE_SIZE * 4);
    this.uffdFds = new Int32Array(uffdTableSab).fill(-1);
    this.control = new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4));
    Atomics.store(this.control, CONTROL_SAMPLE_EVERY, options.faultSampleEvery ?? 0);
    this.ownUffdId = this.claimUffdId(fd);
    const events = featureMask(EVENT_FEATURES);
    this.direct = (options.directPoll ?? true) && (granted & events) === 0 ? native.directPollCreate() : null;
    try {
      // The direct set registers the uffd before the reader does: the kernel
      // wakes the first exclusive registration that has a waiter, so a parked
      // worker gets the fault and the reader only the overflow.
      if (this.direct) native.directPollAdd(this.direct.epollFd, fd, this.ownUffdId);
      this.reader = new native.Reader(this.ring.i32, this.uffdFds, this.direct ? { kickFd: this.direct.kickFd } : undefined);
      this.reader.add(fd, this.ownUffdId);
    } catch (err) {
      this.closeDirect();
      throw err;
    }
    this.pool = undefined as unknown as WorkerPool;
  }

  private async startWorkers(options: FaultHandlerOptions, workers: number): Promise<void> {
    const pool = await WorkerPool.start(
      {
        ringSab: this.ring.sab,
        ringWords: this.ring.i32,
        tableSab: this.table.sab,
        statsSab: this.statsBlock.sab,
        uffdTableSab: this.uffdFds.buffer as SharedArrayBuffer,
        controlSab: this.control.buffer as SharedArrayBuffer,
        pageSize: this.pageSize,
        direct: this.direct,
      },
      {
        workers,
        spin: checkPositiveInt('spin', options.spin ?? defaultSpin(), 1e9),
        parkMs: checkPositiveInt('parkMs', options.parkMs ?? 100, 60_000),
        maxInflight: checkPositiveInt('maxInflight', options.maxInflight ?? 32, 4096),
        startTimeoutMs: 15_000,
      },
    );
    (this as unknown as { pool: WorkerPool }).pool = pool;
    pool.onMessage((msg) => this.onWorkerMessage(msg));
  }

  /** True when idle workers read faults from the own uffd themselves (see FaultHandlerOptions.directPoll). */
  get directPoll(): boolean {
    return this.direct !== null;
  }

  get closed(): boolean {
    return this.state !== 'open';
  }

  /**
   * Maps `size` bytes of anonymous memory whose pages are produced on first
   * touch by `resolver`, in the workers. The returned region's `buffer` is a
   * SharedArrayBuffer: view it here or post it to other threads.
   */
  async map(options: MapOptions): Promise<Region> {
    this.assertOpen('map');
    if (typeof options !== 'object' || options === null) {
      throw new FaultlineError('ERR_FAULTLINE_INVALID_ARGUMENT', 'map() takes an options object { size, resolver, ... }');
    }
    const size = checkSize('size', options.size, this.pageSize);
    const resolver = checkResolverSpec('resolver', options.resolver);
    const readahead = checkPositiveInt('readahead', options.readahead ?? 1, 4096);
    const onError = checkOnError(options.onError);
    const name = options.name ?? `region-${this.nextRegionId}`;
    const regionId = this.allocateRegionId();
    try {
      await this.loadResolver(regionId, resolver, name, size, readahead);
      const mapping = native.mapAnonymous(size);
      this.table.insert({
        state: ENTRY_REGION,
        uffdId: this.ownUffdId,
        start: mapping.address,
        length: size,
        regionId,
        offset: 0,
        readahead,
        flags: onError === 'zero' ? FLAG_ON_ERROR_ZERO : 0,
      });
      try {
        native.uffdRegister(this.fd, mapping.address, size, native.constants.UFFDIO_REGISTER_MODE_MISSING);
      } catch (err) {
        this.table.removeRegion(regionId);
        throw err;
      }
      const region = new Region(this, regionId, name, mapping, readahead, onError);
      this.regions.set(regionId, region);
      return region;
    } catch (err) {
      await this.dropResolver(regionId).catch(() => undefined);
      this.releaseRegionId(regionId);
      throw err;
    }
  }

  /**
   * Serves a uffd of another process (received over a Unix socket). It must
   * have been through UFFDIO_API and have the listed ranges registered. Events
   * it negotiated (fork, remap, remove, unmap) are applied and emitted.
   */
  async adopt(fd: number, options: AdoptOptions): Promise<AdoptedUffd> {
    this.assertOpen('adopt');
    if (!Number.isInteger(fd) || fd < 0) {
      throw new FaultlineError('ERR_FAULTLINE_INVALID_ARGUMENT', `adopt() needs a uffd file descriptor, got ${String(fd)}`);
    }
    if (!options || !Array.isArray(options.regions) || options.regions.length === 0) {
      throw new FaultlineError('ERR_FAULTLINE_INVALID_ARGUMENT', 'adopt() needs { regions: [{ address, size, resolver }, ...] }');
    }
    const understood = new Set<string>(options.events ?? EVENT_FEATURES);
    for (const e of understood) {
      if (!(EVENT_FEATURES as readonly string[]).includes(e)) {
        throw new FaultlineError('ERR_FAULTLINE_INVALID_ARGUMENT', `unknown event '${e}'; events are ${EVENT_FEATURES.join(', ')}`);
      }
    }
    const checked = options.regions.map((r, i) => ({
      address: checkAddress(`regions[${i}].address`, r.address, this.pageSize),
      size: checkSize(`regions[${i}].size`, r.size, this.pageSize),
      resolver: checkResolverSpec(`regions[${i}].resolver`, r.resolver),
      offset: r.offset ?? 0,
      readahead: checkPositiveInt(`regions[${i}].readahead`, r.readahead ?? 1, 4096),
      onError: checkOnError(r.onError),
      name: r.name ?? `adopted-${fd}-${i}`,
    }));
    const info = inspectUffd(fd);
    const peerFeatures = featureNames(info.features);
    const unexpected = peerFeatures.filter((f) => (EVENT_FEATURES as readonly string[]).includes(f) && !understood.has(f));
    if (unexpected.length > 0) {
      throw new FaultlineError(
        'ERR_FAULTLINE_FEATURE_UNSUPPORTED',
        `the peer's uffd delivers events ${unexpected.join(', ')} that this adopt() did not list in options.events; ` +
          'add them (Faultline applies all four) or have the peer not request them',
      );
    }
    // SIGBUS in another process needs UFFDIO_POISON, which the peer's uffd
    // offers only if the peer negotiated it. Without it, a region that asked
    // for 'sigbus' is refused; one that left the policy unset gets zero pages
    // (reported through 'error' with action 'zeroed') instead of a thread that
    // would re-fault forever.
    if (!peerFeatures.includes('poison')) {
      options.regions.forEach((r, i) => {
        if (r.onError === 'sigbus') {
          throw new FaultlineError(
            'ERR_FAULTLINE_FEATURE_UNSUPPORTED',
            `regions[${i}].onError 'sigbus' needs the peer's uffd to have UFFD_FEATURE_POISON (it has: ${peerFeatures.join(', ') || 'none'}); ` +
              "have the peer request it in UFFDIO_API, or use onError: 'zero'",
          );
        }
        checked[i]!.onError = 'zero';
      });
    }
    const regionIds: number[] = [];
    let uffdId = -1;
    try {
      for (const r of checked) {
        const id = this.allocateRegionId();
        regionIds.push(id);
        await this.loadResolver(id, r.resolver, r.name, r.size, r.readahead);
      }
      // The table must describe the uffd before the reader watches it: a fault
      // read first would find no region and be poisoned.
      uffdId = this.claimUffdId(fd);
      checked.forEach((r, i) => {
        this.table.insert({
          state: ENTRY_REGION,
          uffdId,
          start: r.address,
          length: r.size,
          regionId: regionIds[i]!,
          offset: r.offset,
          readahead: r.readahead,
          flags: r.onError === 'zero' ? FLAG_ON_ERROR_ZERO : 0,
        });
      });
      this.reader.add(fd, uffdId);
    } catch (err) {
      if (uffdId >= 0) {
        this.table.removeUffd(uffdId);
        Atomics.store(this.uffdFds, uffdId, -1);
      }
      for (const id of regionIds) {
        await this.dropResolver(id).catch(() => undefined);
        this.releaseRegionId(id);
      }
      throw err;
    }
    const adopted = new AdoptedUffd(this, fd, uffdId, regionIds, peerFeatures);
    this.adopted.set(uffdId, adopted);
    for (const id of regionIds) this.regions.set(id, adopted);
    return adopted;
  }

  /**
   * Resolves true once nothing is pending anywhere (no message in the ring or
   * the reader, no worker holding one), false if that did not happen within
   * `timeoutMs`. Counters are bumped just after the install that wakes the
   * faulting thread, so await this before reading stats you want exact.
   */
  async idle(timeoutMs = 1000): Promise<boolean> {
    this.assertOpen('wait for idle');
    return this.quiesce(timeoutMs);
  }

  /** Per-region counters and the reader's and ring's. */
  stats(): HandlerStats {
    const regions: Record<string, RegionStats> = {};
    for (const [id, owner] of this.regions) {
      regions[owner instanceof Region ? owner.name : `${id}`] = this.statsBlock.read(id);
    }
    return {
      reader: this.reader.stats(),
      direct: { messages: Atomics.load(this.control, CONTROL_DIRECT_MESSAGES) >>> 0 },
      ring: this.ring.stats(),
      regions,
    };
  }

  /**
   * Drains what is pending (every parked thread is answered), unregisters and
   * closes every uffd, stops the reader and the workers. Memory already
   * returned as region buffers stays valid; pages never touched then read as
   * zero, like any anonymous memory. A second close() rejects.
   */
  async close(): Promise<void> {
    if (this.state !== 'open') {
      throw new FaultlineError('ERR_FAULTLINE_ALREADY_CLOSED', 'this FaultHandler is already closed (close() was called before)');
    }
    this.state = 'closing';
    clearInterval(this.statsTimer);
    await this.quiesce(2000);
    for (const owner of new Set(this.regions.values())) {
      if (owner instanceof Region) owner.unregisterForClose(this.fd);
    }
    await this.quiesce(500);
    this.reader.stop();
    this.ring.close();
    await this.pool.stop(5000);
    this.releaseNative();
    this.regions.clear();
    this.adopted.clear();
    this.state = 'closed';
  }

  // ---- used by Region / AdoptedUffd ----

  /** @internal */
  regionStats(regionId: number): RegionStats {
    return this.statsBlock.read(regionId);
  }

  /** @internal Unregisters a region of ours and forgets it. */
  async unmapRegion(region: Region): Promise<void> {
    this.assertOpen('unmap');
    await this.quiesce(1000);
    this.table.removeRegion(region.id);
    try {
      native.uffdUnregister(this.fd, region.address, region.size);
    } finally {
      this.regions.delete(region.id);
      await this.dropResolver(region.id).catch(() => undefined);
      this.releaseRegionId(region.id);
    }
  }

  /** @internal Stops serving an adopted uffd (and its fork children) and closes their fds. */
  async releaseAdopted(adopted: AdoptedUffd): Promise<void> {
    this.assertOpen('close');
    await this.quiesce(1000);
    for (const id of [adopted.uffdId, ...adopted.children]) {
      this.table.removeUffd(id);
      this.reader.remove(id);
      const fd = Atomics.load(this.uffdFds, id);
      Atomics.store(this.uffdFds, id, -1);
      if (fd >= 0) native.closeFd(fd);
    }
    this.adopted.delete(adopted.uffdId);
    for (const id of adopted.regionIds) {
      this.regions.delete(id);
      await this.dropResolver(id).catch(() => undefined);
      this.releaseRegionId(id);
    }
  }

  // ---- internals ----

  /**
   * Claims a free slot of the uffd table for `fd`. The reader claims slots for
   * fork children the same way (compare-and-swap from -1), so both can allocate.
   */
  private claimUffdId(fd: number): number {
    for (let id = 0; id < this.uffdFds.length; id++) {
      if (Atomics.compareExchange(this.uffdFds, id, -1, fd) === -1) return id;
    }
    throw new FaultlineError('ERR_FAULTLINE_TABLE_FULL', `too many uffds served at once (${this.uffdFds.length})`);
  }

  private assertOpen(what: string): void {
    if (this.state !== 'open') {
      throw new FaultlineError('ERR_FAULTLINE_CLOSED', `cannot ${what}: the FaultHandler is closed; create a new one`);
    }
  }

  private allocateRegionId(): number {
    const id = this.freeRegionIds.pop() ?? (this.nextRegionId < this.maxRegions ? this.nextRegionId++ : -1);
    if (id < 0) {
      throw new FaultlineError(
        'ERR_FAULTLINE_TABLE_FULL',
        `too many regions (${this.maxRegions}); unmap some or create the handler with a larger maxRegions`,
      );
    }
    this.statsBlock.reset(id);
    return id;
  }

  private releaseRegionId(id: number): void {
    this.freeRegionIds.push(id);
  }

  private async loadResolver(regionId: number, spec: ResolverSpec, name: string, regionSize: number, readahead: number): Promise<void> {
    await this.pool.request({ type: 'load-resolver', regionId, spec, name, regionSize, readahead }, (reply) => {
      if (reply.type !== 'resolver-loaded' || reply.regionId !== regionId) return { matched: false };
      if (!reply.error) return { matched: true };
      return { matched: true, error: new FaultlineError(reply.error.code, reply.error.message) };
    });
  }

  private async dropResolver(regionId: number): Promise<void> {
    await this.pool.request({ type: 'drop-resolver', regionId }, (reply) => ({
      matched: reply.type === 'resolver-dropped' && reply.regionId === regionId,
    }));
  }

  /**
   * Waits until nothing is pending anywhere: the ring is empty, the reader
   * holds nothing and sees nothing readable, no worker holds records, every
   * taken event is applied. Checked twice in a row to close the gap between
   * "read from the uffd" and "published".
   */
  private async quiesce(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let calm = 0;
    while (Date.now() < deadline) {
      if (this.isQuiet()) {
        if (++calm >= 2) return true;
      } else {
        calm = 0;
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    return false;
  }

  private isQuiet(): boolean {
    if (!this.ring.isEmpty() || !this.reader.idle()) return false;
    // A fault the kernel handed to a parked worker is on no epoll ready list
    // of the reader's: ask the uffd itself. Checked before the busy flags,
    // which a worker raises before it reads (so a read message is never missed).
    if (this.direct && native.fdReadable(this.fd)) return false;
    for (let w = 0; w < this.workerCount; w++) {
      if (Atomics.load(this.control, CONTROL_BUSY_BASE + w) !== 0) return false;
    }
    return true;
  }

  private onWorkerMessage(msg: FromWorker): void {
    switch (msg.type) {
      case 'resolver-error': {
        const failure = new ResolverFailure(
          msg.error.code,
          `resolver failed at 0x${msg.address.toString(16)} (region ${msg.regionId}, offset ${msg.offset}); ` +
            `the faulting thread was ${msg.action === 'poisoned' ? 'sent SIGBUS (page poisoned)' : msg.action === 'zeroed' ? 'given a zero page' : 'woken'}: ${msg.error.message}`,
          msg.regionId,
          msg.address,
          msg.offset,
          msg.action,
        );
        this.emit('error', failure);
        break;
      }
      case 'fault-sample':
        this.emit('fault', { uffdId: msg.uffdId, regionId: msg.regionId, address: msg.address, write: msg.write, tid: msg.tid });
        break;
      case 'uffd-event': {
        const root = this.adoptedFor(msg.uffdId);
        if (msg.event.kind === 'fork' && root) root.children.push(msg.event.childUffdId);
        const event = { uffdId: msg.uffdId, ...msg.event } as UffdEvent;
        this.emit('uffd-event', event);
        root?.emit('event', event);
        break;
      }
      default:
        break;
    }
  }

  private adoptedFor(uffdId: number): AdoptedUffd | undefined {
    const direct = this.adopted.get(uffdId);
    if (direct) return direct;
    for (const a of this.adopted.values()) if (a.children.includes(uffdId)) return a;
    return undefined;
  }

  /** Closes every uffd still open and stops the reader (idempotent). */
  private releaseNative(): void {
    try {
      this.reader.stop();
    } catch {
      // already stopped
    }
    for (let id = 0; id < this.uffdFds.length; id++) {
      const fd = Atomics.load(this.uffdFds, id);
      if (fd >= 0 && fd !== this.fd) {
        Atomics.store(this.uffdFds, id, -1);
        try {
          native.closeFd(fd);
        } catch {
          // already closed by its owner
        }
      }
    }
    try {
      native.closeFd(this.fd);
    } catch {
      // already closed
    }
    this.closeDirect();
  }

  /** Closes the direct poll set (after the workers stopped polling it). */
  private closeDirect(): void {
    if (!this.direct) return;
    for (const fd of [this.direct.epollFd, this.direct.kickFd]) {
      try {
        native.closeFd(fd);
      } catch {
        // already closed
      }
    }
  }

  /** @internal Starts/stops the periodic 'stats' event as listeners come and go. */
  override on<T extends keyof FaultHandlerEvents>(event: T, fn: (...args: FaultHandlerEvents[T]) => void, context?: unknown): this {
    super.on(event, fn as never, context);
    if (event === 'stats' && !this.statsTimer) {
      this.statsTimer = setInterval(() => {
        if (this.listenerCount('stats') === 0) {
          clearInterval(this.statsTimer);
          this.statsTimer = undefined;
          return;
        }
        if (this.state === 'open') this.emit('stats', this.stats());
      }, this.options.statsIntervalMs ?? 1000);
      this.statsTimer.unref();
    }
    return this;
  }
}
