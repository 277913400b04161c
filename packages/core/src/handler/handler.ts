/**
 * FaultHandler: the public API, and the wiring of the pieces that serve
 * faults. It owns the uffds, the reader thread, the ring, the region table
 * and the worker pool; the main thread only sets things up and tears them
 * down, faults are resolved entirely by the reader and the workers.
 *
 * Where the jobs live: options and their checks in config.ts; this process's
 * uffd in own-uffd.ts; a peer's uffd in peer-uffd.ts; region ids and owners in
 * registry.ts; "is anything pending" in quiesce.ts; the pool in worker-pool.ts;
 * the shared-memory structures in ../shared/.
 */
import { EventEmitter } from 'eventemitter3';
import native from '@faultline/native';
import { FaultlineError, invalidArgument } from '../errors.js';
import { closeQuietly } from '../fds.js';
import {
  UFFD_EVENT_KINDS,
  type FaultHandlerEvents,
  type HandlerStats,
  type UffdEvent,
} from '../events.js';
import { featureMask, featureNames, type FeatureName } from '../features.js';
import type { ResolverInfo, ResolverSpec } from '../resolver.js';
import { FaultRing } from '../ring/ring.js';
import { ControlBlock } from '../shared/control-block.js';
import {
  ENTRY_REGION,
  FLAG_INSTALL_MOVE,
  FLAG_ON_ERROR_ZERO,
  FLAG_RECORD,
  FLAG_TRACK_WRITES,
  RegionTable,
  type NativeResolver,
} from '../shared/region-table.js';
import { WriteTracking, type WriteTrackingMode } from './write-tracking.js';
import { Evictors, evictingReadaheadRefusal } from './evictors.js';
import { FaultTraceBuffer } from '../shared/fault-trace.js';
import { Prefetches } from './prefetches.js';
import type { PrefetchReport } from '../trace/plan.js';
import { Recordings } from './recordings.js';
import { StatsBlock } from '../shared/region-stats.js';
import { UffdTable } from '../shared/uffd-table.js';
import type { FromWorker } from '../worker/protocol.js';
import { AdoptedUffd } from './adopted.js';
import {
  adoptConfig,
  handlerConfig,
  mapConfig,
  type AdoptOptions,
  type FaultHandlerOptions,
  type HandlerConfig,
  type CloseOptions,
  type CloseReport,
  type MapOptions,
  type RegionConfig,
  closeConfig,
} from './config.js';
import { DirectSource, ReaderSource, type FaultSource } from './fault-source.js';
import { checkMemoryFeatures, mapRegionMemory, registerMode } from './memory.js';
import { THP_RUN, adviseHugePages } from '../thp.js';
import { prepareNative } from './native-resolvers.js';
import { openOwnUffd, openSyncWpUffd } from './own-uffd.js';
import type { RegionHost } from './owner.js';
import { checkPeerUffd } from './peer-uffd.js';
import { parkedThreads, quiesce, type PendingSources } from './quiesce.js';
import { Region } from './region.js';
import { RegionRegistry } from './registry.js';
import { checkResolverSource } from './resolver-check.js';
import { startStatsTicker } from './stats-ticker.js';
import { UnheardErrors } from './unheard-errors.js';
import { Recovery, failureEvent, loadReply } from './recovery.js';
import { WorkerPool } from './worker-pool.js';
import { checkNonNegativeInt } from '../validate.js';

/** How long unmap()/AdoptedUffd.close() wait for pending faults. */
const RELEASE_DRAIN_MS = 1000;
const WORKER_START_TIMEOUT_MS = 15_000;
/** handler.stats().reader when the workers read the uffds themselves. */
const NO_READER: native.ReaderStats = { messages: 0, reads: 0, stalls: 0, wakeups: 0, hangups: 0, unknownEvents: 0, forksRefused: 0 };
const POOL_STOP_TIMEOUT_MS = 5000;
/** Longest wait idle() accepts (a day): past that it is a mistake (seconds for ms?). */
const MAX_IDLE_WAIT_MS = 24 * 3600 * 1000;

export class FaultHandler extends EventEmitter<FaultHandlerEvents> {
  readonly pageSize: number;
  /** Features granted on this process's own uffd. */
  readonly features: FeatureName[];
  private readonly config: HandlerConfig;
  private readonly fd: number;
  private readonly ownUffdId: number;
  private readonly ring: FaultRing;
  private readonly table: RegionTable;
  private readonly statsBlock: StatsBlock;
  private readonly uffds: UffdTable;
  private readonly control: ControlBlock;
  /** How the workers get the faults (fault-source.ts). */
  private readonly source: FaultSource;
  private readonly registry: RegionRegistry;
  private readonly pending: PendingSources;
  private pool!: WorkerPool;
  private readonly recovery: Recovery;
  /** Date.now() at creation: resolver calls are timed from it in the control block. */
  private readonly epochMs = Date.now();
  /** First touches of recording regions (record: true). */
  private readonly faultTrace: FaultTraceBuffer;
  private readonly recordings: Recordings;
  private readonly prefetches: Prefetches;
  private readonly writes = new WriteTracking();
  /** Feature bits the kernel offers a new uffd (what a sync write-tracking uffd may ask for). */
  private readonly offered: number;
  /** The second uffd for trackWrites: 'sync' regions (own-uffd.ts openSyncWpUffd), opened by the first. */
  private syncWp: { fd: number; uffdId: number } | null = null;
  private readonly evictors: Evictors;
  private stopStatsTicker: () => void = () => undefined;
  private readonly unheard = new UnheardErrors(native.writeStderr);
  private state: 'open' | 'closing' | 'closed' = 'open';

  /** Opens a uffd, starts the reader thread and the workers. */
  static async create(options: FaultHandlerOptions = {}): Promise<FaultHandler> {
    const config = handlerConfig(options);
    const own = openOwnUffd(config.features, config.userModeOnly);
    let handler: FaultHandler;
    try {
      handler = new FaultHandler(config, own.fd, own.granted, own.offered);
    } catch (err) {
      native.closeFd(own.fd);
      throw err;
    }
    try {
      await handler.startWorkers();
    } catch (err) {
      handler.releaseNative();
      throw err;
    }
    return handler;
  }

  private constructor(config: HandlerConfig, fd: number, granted: number, offered: number) {
    super();
    this.config = config;
    this.offered = offered;
    this.pageSize = native.pageSize();
    this.fd = fd;
    this.features = featureNames(granted);
    this.ring = FaultRing.create(config.ringCapacity);
    this.table = RegionTable.create(Math.max(64, config.maxRegions * 4));
    this.statsBlock = StatsBlock.create(config.maxRegions);
    this.faultTrace = FaultTraceBuffer.create(config.traceCapacity);
    this.recordings = new Recordings(this.faultTrace, this.epochMs);
    this.prefetches = new Prefetches(this.table.sab);
    this.evictors = new Evictors(this.statsBlock.sab, (err) => this.emitError(err), this.config.nativeResolvers);
    this.registry = new RegionRegistry(config.maxRegions, this.statsBlock);
    this.uffds = UffdTable.create();
    this.control = ControlBlock.create(config.faultSampleEvery);
    this.ownUffdId = this.uffds.claim(fd);
    const events = (granted & featureMask(UFFD_EVENT_KINDS)) !== 0;
    this.source =
      (config.directPoll ?? true)
        ? new DirectSource(fd, this.ownUffdId, this.control, events, this.pageSize)
        : new ReaderSource(this.ring, this.uffds, fd, this.ownUffdId);
    this.pending = { ring: this.ring, reader: this.source.reader, control: this.control, workers: config.workers, uffds: this.uffds };
    this.recovery = new Recovery({
      table: this.table,
      uffds: this.uffds,
      stats: this.statsBlock,
      control: this.control,
      pool: () => this.pool,
      regions: this.registry,
      pageSize: this.pageSize,
      epochMs: this.epochMs,
      resolverLoadTimeoutMs: config.resolverLoadTimeoutMs,
      emitError: (err) => this.emitError(err),
    });
  }

  private async startWorkers(): Promise<void> {
    const { workers, spinUs, parkMs, maxInflight, statsIntervalMs } = this.config;
    this.pool = await WorkerPool.start(
      {
        ring: this.ring,
        control: this.control,
        tableSab: this.table.sab,
        statsSab: this.statsBlock.sab,
        traceSab: this.faultTrace.sab,
        uffdTableSab: this.uffds.sab,
        pageSize: this.pageSize,
        waiter: this.source.waiter,
        nativeResolvers: this.config.nativeResolvers,
        wake: () => this.source.wake(),
        epochMs: this.epochMs,
      },
      { workers, spinUs, parkMs, maxInflight, startTimeoutMs: WORKER_START_TIMEOUT_MS },
    );
    this.pool.onMessage((msg) => this.onWorkerMessage(msg));
    this.pool.onDeath = (w, reason) => {
      if (this.state === 'open') void this.recovery.onDeath(w, reason);
    };
    this.recovery.startWatchdog();
    this.stopStatsTicker = startStatsTicker(this, statsIntervalMs, () => this.stats());
  }

  /** True when the workers read the uffds themselves (see FaultHandlerOptions.directPoll). */
  get directPoll(): boolean {
    return this.source.waiter !== null;
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
    const r = mapConfig(options, this.pageSize, `region-${this.registry.peekId()}`, this.config.resolveTimeoutMs, this.config.install);
    checkResolverSource('resolver', r.resolver, this.pageSize);
    const tracking = r.trackWrites ? this.writes.modeFor(r.trackWrites, this.features, featureNames(this.offered), r.pageSize) : null;
    const memory = { backing: r.backing ?? 'anonymous', minor: r.minor === true, install: r.install ?? 'copy' } as const;
    checkMemoryFeatures(memory, this.features);
    // A 'sync' tracked region lives on the second uffd (its WP faults must reach the workers).
    const { fd, uffdId } = tracking === 'sync' ? this.syncWpUffd() : { fd: this.fd, uffdId: this.ownUffdId };
    if (r.eviction && r.readahead > 1) {
      const refusal = evictingReadaheadRefusal(r.resolver, r.eviction.writeback, this.config.nativeResolvers && this.source.waiter !== null);
      if (refusal !== null) throw invalidArgument(refusal);
    }
    const regionId = this.registry.allocate();
    // An evicting region's faults must see its eviction marker: the serve loops get it with the
    // resolver, the native fast path its address in the table entry.
    const marker = r.eviction ? Evictors.marker(r.eviction.maxPages) : undefined;
    let registered: native.Mapping | null = null;
    try {
      // The memory first: a memfd's resolver gets its fd (ResolverInfo.memfd) to map the page cache itself.
      const { mapping, memfd } = mapRegionMemory(r.size, r.pageSize, memory.backing, r.name);
      if (memfd >= 0) this.registry.onRelease(regionId, () => closeQuietly(memfd));
      const dirtyBitmap = tracking === 'sync' ? this.writes.addSync(regionId, fd, r.size / r.pageSize) : undefined;
      await this.loadResolver(regionId, r, { eviction: marker?.buffer, memfd, dirtyBitmap });
      const nativeResolver = this.prepareNative(regionId, r.resolver);
      if (memory.install === 'move' && (r.readahead * r.pageSize) % THP_RUN === 0) adviseHugePages(mapping.address, r.size);
      if (r.record) this.recordings.start(regionId, { size: r.size, offset: 0, pageSize: r.pageSize });
      // Described before registered: a fault read first would find no region and be poisoned.
      this.table.insert({
        state: ENTRY_REGION,
        uffdId,
        start: mapping.address,
        length: r.size,
        regionId,
        offset: 0,
        readahead: r.readahead,
        flags: entryFlags(r),
        pageSize: r.pageSize,
        eviction: marker?.address ?? 0,
        // The native path serves the region's WP faults with it (the SAB stays alive in this.writes).
        dirtyBitmap: dirtyBitmap ? native.viewAddress(new Int32Array(dirtyBitmap)) : 0,
        ...nativeResolver,
      });
      try {
        native.uffdRegister(fd, mapping.address, r.size, registerMode(memory, tracking !== null));
        // Every page starts protected (WP_UNPOPULATED puts markers in the empty ones): writes count from here.
        if (tracking) native.uffdWriteprotect(fd, mapping.address, r.size, native.constants.UFFDIO_WRITEPROTECT_MODE_WP);
      } catch (err) {
        this.table.removeRegion(regionId);
        throw err;
      }
      registered = mapping;
      if (r.eviction) {
        await this.evictors.start({
          uffdFd: this.fd,
          regionId,
          address: mapping.address,
          size: r.size,
          pageSize: r.pageSize,
          ...r.eviction,
          resolver: { spec: r.resolver, info: resolverInfo(regionId, r) },
          markerSab: marker!.buffer,
        });
      }
      const prefetch = this.startPrefetch(fd, uffdId, regionId, mapping.address, 0, r);
      const region = new Region(this.host, regionId, r.name, mapping, r.readahead, r.onError, r.pageSize, prefetch, tracking, memfd);
      this.registry.onRelease(regionId, () => this.writes.forget(regionId));
      this.registry.addRegion(region);
      return region;
    } catch (err) {
      if (registered) {
        // The evictor could not start: serve nothing we cannot keep under its budget.
        native.uffdUnregister(fd, registered.address, registered.length);
        this.table.removeRegion(regionId);
      }
      this.writes.forget(regionId);
      this.recordings.forget(regionId);
      await this.dropResolver(regionId).catch(() => undefined);
      this.registry.release(regionId);
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
    const { regions, events } = adoptConfig(fd, options, this.pageSize, this.config.resolveTimeoutMs);
    regions.forEach((r, i) => checkResolverSource(`regions[${i}].resolver`, r.resolver, this.pageSize));
    this.assertNotServed(fd);
    const peerFeatures = checkPeerUffd(fd, regions, events);
    const regionIds: number[] = [];
    let uffdId = -1;
    let prefetches: (Promise<PrefetchReport> | null)[] = [];
    try {
      for (let i = 0; i < regions.length; i++) regionIds.push(this.registry.allocate());
      const natives = regions.map((r, i) => this.prepareNative(regionIds[i]!, r.resolver));
      // The table must describe the uffd before anyone reads it: a fault
      // read first would find no region and be poisoned.
      uffdId = this.uffds.claim(fd);
      regions.forEach((r, i) => {
        if (r.record) this.recordings.start(regionIds[i]!, { size: r.size, offset: r.offset, pageSize: r.pageSize });
        this.table.insert({
          state: ENTRY_REGION,
          uffdId,
          start: r.address,
          length: r.size,
          regionId: regionIds[i]!,
          offset: r.offset,
          readahead: r.readahead,
          flags: entryFlags(r),
          pageSize: r.pageSize,
          ...natives[i],
        });
      });
      // A restore's working set starts going in now, while the resolvers
      // load: a prefetch needs only the table, and each page it installs
      // wakes a thread parked on it even before anyone reads the uffd. (The
      // peer is usually running already: every millisecond here is its.)
      prefetches = regions.map((r, i) => this.startPrefetch(fd, uffdId, regionIds[i]!, r.address, r.offset, r));
      for (const [i, r] of regions.entries()) await this.loadResolver(regionIds[i]!, r);
      this.source.add(fd, uffdId);
    } catch (err) {
      await Promise.all(regionIds.map((id) => this.prefetches.stop(id)));
      if (uffdId >= 0) {
        this.table.removeUffd(uffdId);
        this.uffds.release(uffdId);
      }
      for (const id of regionIds) {
        this.recordings.forget(id);
        await this.dropResolver(id).catch(() => undefined);
        this.registry.release(id);
      }
      throw err;
    }
    const adopted = new AdoptedUffd(this.host, fd, uffdId, regionIds, peerFeatures, regions.map((r) => r.name), prefetches);
    this.registry.addAdopted(adopted);
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
    return quiesce(this.pending, checkNonNegativeInt('idle() timeoutMs', timeoutMs, MAX_IDLE_WAIT_MS));
  }

  /** Per-region counters, and how faults were read (by the workers, or the reader thread and the ring). */
  stats(): HandlerStats {
    return {
      reader: this.source.reader?.stats() ?? NO_READER,
      workers: this.control.counters(),
      ring: this.ring.stats(),
      regions: this.registry.statsByName(),
    };
  }

  /**
   * Stops serving, answering every fault first. From the call on, faults read
   * get their region's failure policy (SIGBUS, or a zero page, reported) and
   * faults already in a worker's hands are finished; once nothing is pending,
   * every range is unregistered and every uffd closed, and the reader and the
   * workers stop. If `timeoutMs` (default 5000) passes first, what is still
   * queued or held by a resolver that does not return is answered from here
   * with the policy; the report counts what was answered so, and any thread
   * still parked after that (`unanswered`, also said on stderr) reads what
   * plain memory holds once the uffd is closed. Memory already returned as
   * region buffers stays valid; pages never touched read as zero, like any
   * anonymous memory. A second close() rejects.
   */
  async close(options: CloseOptions = {}): Promise<CloseReport> {
    if (this.state !== 'open') {
      throw new FaultlineError('ERR_FAULTLINE_ALREADY_CLOSED', 'this FaultHandler is already closed (close() was called before)');
    }
    const { timeoutMs } = closeConfig(options);
    this.state = 'closing';
    this.stopStatsTicker();
    this.control.setClosing();
    const report: CloseReport = { drained: await quiesce(this.pending, timeoutMs), answeredAtClose: 0, unanswered: 0 };
    if (!report.drained) {
      report.answeredAtClose = this.recovery.answerLeftovers();
      await quiesce(this.pending, 200);
      report.unanswered = parkedThreads(this.uffds);
      if (report.unanswered > 0) {
        native.writeStderr(
          `faultline: close() gave up on ${report.unanswered} parked fault(s) after ${timeoutMs} ms; they read plain memory now (close({ timeoutMs }) waits longer)\n`,
        );
      }
    }
    this.recovery.stopWatchdog();
    await this.prefetches.stopAll();
    await this.evictors.stopAll();
    for (const region of this.registry.ownRegions()) {
      try {
        native.uffdUnregister(this.writes.uffdOf(region.id) ?? this.fd, region.address, region.size);
      } catch {
        // the uffd is about to be closed, which unregisters everything anyway
      }
    }
    this.source.stop();
    this.control.close();
    this.ring.close();
    this.source.wake();
    await this.pool.stop(POOL_STOP_TIMEOUT_MS);
    this.releaseNative();
    this.writes.close();
    this.registry.clear();
    this.state = 'closed';
    return report;
  }

  // ---- what Region and AdoptedUffd may ask of the handler (not public API)

  private readonly host: RegionHost = {
    pageSize: native.pageSize(),
    regionStats: (regionId) => this.statsBlock.read(regionId),
    unmapRegion: (regionId) => this.unmapRegion(regionId),
    releaseAdopted: (uffdId) => this.releaseAdopted(uffdId),
    trace: (regionId, name) => this.recordings.trace(regionId, name),
    dirtyPages: (region, reset) => this.writes.dirtyPages(region, reset),
    evictionStats: (regionId) => this.evictors.stats(regionId),
    flush: (regionId) => this.evictors.flush(regionId),
    protectAll: (region) => this.writes.protectAll(this.fd, region),
  };

  /** Starts region `regionId`'s prefetch, if it asked for one (once the range is served: demand faults come first). */
  private startPrefetch(fd: number, uffdId: number, regionId: number, address: number, offset: number, r: RegionConfig): Promise<PrefetchReport> | null {
    if (r.fill === 'lazy') return null;
    const pages = r.prefetch?.pages ?? new Uint32Array(0);
    const data = r.prefetch?.data;
    return this.prefetches.start({
      fd,
      uffdId,
      regionId,
      address,
      offset,
      pageSize: r.pageSize,
      pages,
      writeProtect: r.trackWrites !== undefined && r.trackWrites !== false,
      ...(data ? { data } : {}),
      resolver: { spec: r.resolver, info: resolverInfo(regionId, r) },
      fill: r.fill,
      fillRate: r.fillRate,
      regionPages: r.size / r.pageSize,
    });
  }

  private async unmapRegion(regionId: number): Promise<void> {
    if (this.state === 'closed') return; // close() already unregistered it
    this.assertOpen('unmap');
    const region = this.registry.region(regionId);
    if (!region) return;
    // Answer what is pending, stop new faults (unregister), answer what was
    // read meanwhile, and only then forget the region: a fault read while its
    // table entry is gone would be failed as an unknown address.
    await this.prefetches.stop(regionId);
    await this.evictors.stop(regionId);
    this.recordings.forget(regionId);
    await quiesce(this.pending, RELEASE_DRAIN_MS);
    try {
      native.uffdUnregister(this.writes.uffdOf(regionId) ?? this.fd, region.address, region.size);
      await quiesce(this.pending, RELEASE_DRAIN_MS);
    } finally {
      this.table.removeRegion(regionId);
      await this.dropResolver(regionId).catch(() => undefined);
      this.registry.release(regionId);
    }
  }

  private async releaseAdopted(uffdId: number): Promise<void> {
    this.assertOpen('close');
    const adopted = this.registry.removeAdopted(uffdId);
    if (!adopted) return;
    // No prefetch may install through the fd once it is closed (its number may be reused).
    for (const id of adopted.regionIds) {
      await this.prefetches.stop(id);
      this.recordings.forget(id);
    }
    await quiesce(this.pending, RELEASE_DRAIN_MS);
    for (const id of [adopted.uffdId, ...adopted.children]) {
      this.table.removeUffd(id);
      const fd = this.uffds.fdOf(id);
      if (fd >= 0) this.source.remove(fd, id);
      closeQuietly(this.uffds.release(id));
    }
    for (const id of adopted.regionIds) {
      await this.dropResolver(id).catch(() => undefined);
      this.registry.release(id);
    }
  }

  // ---- internals

  /**
   * The uffd of trackWrites: 'sync' regions, opened by the first of them and
   * served like an adopted one from then on (the leader waits on both uffds
   * with epoll instead of a blocking read: the price of having a second one).
   * Closed with the handler (it is in the uffd table).
   */
  private syncWpUffd(): { fd: number; uffdId: number } {
    if (this.syncWp) return this.syncWp;
    const { fd } = openSyncWpUffd(featureMask(this.features), this.config.userModeOnly);
    let uffdId = -1;
    try {
      uffdId = this.uffds.claim(fd);
      this.source.add(fd, uffdId);
    } catch (err) {
      if (uffdId >= 0) this.uffds.release(uffdId);
      native.closeFd(fd);
      throw err;
    }
    this.syncWp = { fd, uffdId };
    return this.syncWp;
  }

  /**
   * A uffd served twice would have each fault read by whichever serving
   * found it first, with two region tables' worth of answers: refuse it.
   */
  private assertNotServed(fd: number): void {
    const id = this.uffds.idOf(fd);
    if (id < 0) return;
    throw new FaultlineError(
      'ERR_FAULTLINE_ALREADY_ADOPTED',
      id === this.ownUffdId
        ? `fd ${fd} is this FaultHandler's own uffd; adopt() takes a uffd received from another process`
        : `fd ${fd} is already served by this FaultHandler (adopted before, or a forked child's uffd); ` +
            'close() that AdoptedUffd first, or pass the uffd the other process sent',
    );
  }

  private assertOpen(what: string): void {
    if (this.state !== 'open') {
      throw new FaultlineError('ERR_FAULTLINE_CLOSED', `cannot ${what}: the FaultHandler is closed; create a new one`);
    }
  }

  /**
   * The table's native form of a built-in resolver (the waiter's fast path),
   * holding its fd or mapping until region `regionId` is released; nothing
   * when the fast path is off or the resolver is not a built-in.
   */
  private prepareNative(regionId: number, spec: ResolverSpec): { native: NativeResolver } | undefined {
    if (!this.config.nativeResolvers || this.source.waiter === null) return undefined;
    const prepared = prepareNative(spec);
    if (!prepared) return undefined;
    this.registry.onRelease(regionId, prepared.release);
    return { native: prepared.native };
  }

  /** Loads region `regionId`'s resolver in every worker (and remembers how, for replacements). */
  private async loadResolver(
    regionId: number,
    r: RegionConfig,
    extra: { eviction?: SharedArrayBuffer | undefined; memfd?: number; dirtyBitmap?: SharedArrayBuffer | undefined } = {},
  ): Promise<void> {
    const { eviction, memfd = -1, dirtyBitmap } = extra;
    const load = {
      type: 'load-resolver' as const,
      regionId,
      spec: r.resolver,
      name: r.name,
      regionSize: r.size,
      pageSize: r.pageSize,
      readahead: r.readahead,
      resolveTimeoutMs: r.resolveTimeoutMs,
      retries: r.retries,
      ...(eviction ? { eviction } : {}),
      ...(memfd >= 0 ? { memfd } : {}),
      ...(dirtyBitmap ? { dirtyBitmap } : {}),
    };
    try {
      await this.pool.request(load, (reply) => loadReply(reply, regionId), this.config.resolverLoadTimeoutMs, 'ERR_FAULTLINE_RESOLVER_LOAD_TIMEOUT');
    } catch (err) {
      // A worker still loading (a module that never finishes) can serve
      // nothing else meanwhile: replace it (the death path re-delivers and respawns).
      for (const w of (err as { workers?: number[] }).workers ?? []) this.pool.terminate(w);
      throw err;
    }
    this.registry.setLoad(regionId, load);
  }

  private async dropResolver(regionId: number): Promise<void> {
    await this.pool.request(
      { type: 'drop-resolver', regionId },
      (reply) => ({ matched: reply.type === 'resolver-dropped' && reply.regionId === regionId }),
      this.config.controlTimeoutMs,
      'ERR_FAULTLINE_CONTROL_TIMEOUT',
    );
  }

  private onWorkerMessage(msg: FromWorker): void {
    switch (msg.type) {
      case 'resolver-error':
        this.emitError(failureEvent(msg.regionId, msg.address, msg.offset, msg.action, msg.error));
        break;
      case 'uffd-error':
        this.emitError(new FaultlineError(msg.error.code, msg.error.message));
        break;
      case 'fault-sample':
        this.emit('fault', { uffdId: msg.uffdId, regionId: msg.regionId, address: msg.address, write: msg.write, tid: msg.tid });
        break;
      case 'uffd-event':
        this.onUffdEvent(msg.event);
        break;
      default:
        break;
    }
  }

  /** Every 'error' goes through here: to the listeners, or (none) to stderr once per code. */
  private emitError(err: FaultlineError): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else this.unheard.report(err);
  }

  private onUffdEvent(event: UffdEvent): void {
    const root = this.registry.adoptedFor(event.uffdId);
    if (event.kind === 'fork' && root) root.children.push(event.childUffdId);
    this.emit('uffd-event', event);
    root?.emit('event', event);
  }

  /** Closes every uffd still open, then what read them (idempotent). */
  private releaseNative(): void {
    this.source.stop();
    // The own uffd last: adopted uffds and fork children first.
    for (const fd of this.uffds.releaseAll()) if (fd !== this.fd) closeQuietly(fd);
    closeQuietly(this.fd);
    this.source.close();
  }
}

/** What a resolver loaded outside the workers (prefetch, evictor threads) is told of its region, as the workers tell theirs. */
function resolverInfo(regionId: number, r: RegionConfig): ResolverInfo {
  return { pageSize: r.pageSize, regionSize: r.size, regionId, name: r.name };
}

/** The region table flags of a region's entries. */
function entryFlags(r: RegionConfig): number {
  return (
    (r.onError === 'zero' ? FLAG_ON_ERROR_ZERO : 0) |
    (r.record ? FLAG_RECORD : 0) |
    (r.trackWrites !== undefined && r.trackWrites !== false ? FLAG_TRACK_WRITES : 0) |
    (r.install === 'move' ? FLAG_INSTALL_MOVE : 0)
  );
}
