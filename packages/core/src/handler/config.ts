/**
 * The FaultHandler's options: their types, defaults and validation, in one
 * place. Everything is checked before any fd is opened or any worker started,
 * so bad input costs nothing and leaks nothing.
 */
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { invalidArgument } from '../errors.js';
import { checkFill, checkPrefetchPlan, type FillMode, type PrefetchPlan } from '../trace/plan.js';
import { UFFD_EVENT_KINDS, type OnError, type OnErrorPolicy, type UffdEventKind } from '../events.js';
import { FEATURE_BITS, type FeatureName } from '../features.js';
import type { ResolverSpec } from '../resolver.js';
import { MAX_WORKERS } from '../shared/control-block.js';
import { checkInstallMode, checkMemory, type Backing, type InstallMode } from './memory.js';
import type { WriteTrackingMode } from './write-tracking.js';
import {
  checkAddress,
  checkBoolean,
  checkName,
  checkNameList,
  checkNonNegativeInt,
  checkOnError,
  checkOptions,
  checkPositiveInt,
  checkResolverSpec,
  checkSize,
  describeValue,
  optionNames,
} from '../validate.js';

export interface FaultHandlerOptions {
  /** Worker threads, each running one resident serve loop. Default 2. */
  workers?: number;
  /** Ring capacity in 16-byte records (power of two). Default 4096. */
  ringCapacity?: number;
  /**
   * Longest time the leading worker polls for the next fault before it
   * sleeps, microseconds (it adapts below that to the gaps between faults).
   * Polling saves the wake-up a sleeping handler pays per fault, at the price
   * of a CPU; 0: never poll. Default 50, or 0 when this process may use only
   * one CPU (a poller there steals the time the faulting thread needs).
   */
  spinUs?: number;
  /** Longest single sleep of a waiting worker before it looks around, ms. Default 100. */
  parkMs?: number;
  /** Async resolutions in flight per worker. Default 32. */
  maxInflight?: number;
  /**
   * Workers read the uffds themselves (one leader at a time, the others
   * asleep), so a fault costs one wake-up at most. false: every fault goes
   * through the native reader thread and the ring to a worker (two hops; kept
   * for comparison, docs/performance.md). Default true.
   */
  directPoll?: boolean;
  /**
   * The built-in resolvers (zero, pattern, file, snapshot) are run by the
   * native waiter itself, without a trip through JS per fault: what a C
   * handler costs. Custom resolvers always run in JS. Default true; false
   * (or directPoll false) runs the built-ins in JS too.
   */
  nativeResolvers?: boolean;
  /** Open the uffd with UFFD_USER_MODE_ONLY (works unprivileged; kernel accesses to regions then fail). */
  userModeOnly?: boolean;
  /** Extra uffd features for this process's own uffd. */
  features?: FeatureName[];
  /** Regions (mapped + adopted) alive at once. Default 256. */
  maxRegions?: number;
  /** Period of 'stats' events while someone listens, ms. Default 1000. */
  statsIntervalMs?: number;
  /** Default for every region's resolveTimeoutMs. Default 5000. */
  resolveTimeoutMs?: number;
  /** How long every worker may take to load a resolver module at map()/adopt(), ms. Default 10000. */
  resolverLoadTimeoutMs?: number;
  /** How long a worker may take to answer any other control request (drop a resolver...), ms. Default 10000. */
  controlTimeoutMs?: number;
  /** Emit a 'fault' event for one fault in N (0: never). Default 0. */
  faultSampleEvery?: number;
  /** First touches the handler's fault trace holds, over every recording region (`record: true`). Default 1,048,576. */
  traceCapacity?: number;
  /**
   * How own regions' pages go in by default (map `install`): 'copy'
   * (UFFDIO_COPY from the worker's scratch) or 'move' (UFFDIO_MOVE: the
   * scratch pages themselves, no copy; docs/memory.md has the numbers).
   * Regions that cannot move (shared memory, huge pages, trackWrites) copy.
   * Default 'copy'.
   */
  install?: InstallMode;
}

/** Every FaultHandlerOptions key (anything else is refused as a likely misspelling). */
export const FAULT_HANDLER_OPTION_KEYS = optionNames<FaultHandlerOptions>()(
  'workers',
  'ringCapacity',
  'spinUs',
  'parkMs',
  'maxInflight',
  'directPoll',
  'nativeResolvers',
  'userModeOnly',
  'features',
  'maxRegions',
  'statsIntervalMs',
  'traceCapacity',
  'resolveTimeoutMs',
  'resolverLoadTimeoutMs',
  'controlTimeoutMs',
  'faultSampleEvery',
  'install',
);

export interface MapOptions {
  /** Bytes; a positive multiple of the page size. */
  size: number;
  /**
   * Bytes per page: the system's (default), or a huge page size the kernel
   * offers (/sys/kernel/mm/hugepages, e.g. 2 MiB): the region is then
   * hugetlbfs memory, faulted and installed a huge page at a time. Huge pages
   * must be reserved first (root: echo N > /proc/sys/vm/nr_hugepages).
   */
  pageSize?: number;
  resolver: ResolverSpec;
  /**
   * Pages filled per fault (one install). Default 1. With maxResident the
   * window is used only when a fault continues the previous one's (a scan in
   * order; random faults fill one page), and only where the native layer both
   * serves the faults and evicts (a built-in resolver; a writable
   * resolvers.file or no writeback): map() refuses it otherwise.
   */
  readahead?: number;
  /** Record the region's first touches (page, order, time): region.trace(), writeTrace(). Default false. */
  record?: boolean;
  /**
   * Track which pages are written (region.dirtyPages()): the range is
   * registered for write protection too. 'async': with
   * UFFD_FEATURE_WP_ASYNC the kernel notes the first write to each page
   * without a fault message (Linux 6.7+). 'sync': the first write to each
   * page after a reset raises a write-protect fault the workers serve
   * (any kernel with uffd write protection; costs a fault per page). true:
   * 'async' where the kernel has it, else 'sync' (region.writeTracking
   * says which). Default false.
   */
  trackWrites?: boolean | WriteTrackingMode;
  /**
   * What memory the region is (docs/memory.md): 'anonymous' (private, the
   * default), 'shmem' (MAP_SHARED anonymous: shmem pages) or 'memfd' (a memfd
   * of the region's size, mapped shared: region.memfd is its fd, to map
   * elsewhere or hand to another process; closed at unmap()/close()).
   * Shared backings take the system page size.
   */
  backing?: Backing;
  /**
   * Register the range for minor faults too (backing 'memfd' only): a page
   * that is in the memfd's page cache but not mapped here faults with
   * request.minor true, and the resolver answers 'continue' (UFFDIO_CONTINUE:
   * map it, no copy) after filling or checking it through another mapping of
   * the memfd. resolvers.pageCache() does just that. Default false.
   */
  minor?: boolean;
  /**
   * 'copy' (UFFDIO_COPY) or 'move' (UFFDIO_MOVE of the worker's scratch
   * pages into the region: no copy, the scratch is refilled on next use).
   * Private anonymous regions of the system page size without trackWrites
   * only. Default: the handler's `install` ('copy').
   */
  install?: InstallMode;
  /** Install this recorded working set ahead of the faults, in the background (readTrace(), or a Trace). */
  prefetch?: PrefetchPlan;
  /**
   * What is installed in the background: 'lazy' (nothing: every page on its
   * first fault), 'working-set' (the `prefetch` plan; the default with one),
   * 'all' (the plan, then every other page in address order, so the region
   * stops faulting at all). Default 'lazy', or 'working-set' with `prefetch`.
   */
  fill?: FillMode;
  /** Bytes per second for what 'all' installs after the working set. Default: no limit. */
  fillRate?: number;
  /**
   * Keep at most this many bytes of the region resident: past it, pages are
   * evicted in the background (UFFDIO_MOVE) down to `evictTo`, and fault back
   * in through the resolver. A soft ceiling: faults are never held back, so
   * the resident set can pass it by what faults in while an eviction runs.
   * Readahead must be 1. Default: no limit.
   */
  maxResident?: number;
  /** Bytes resident after an eviction pass. Default 3/4 of maxResident. */
  evictTo?: number;
  /**
   * Evicted pages whose bytes differ from what the resolver gives are first
   * stored with its write(offset, bytes) (resolvers.file(path, { writable: true })),
   * so they fault back in as they were left. Without it they come back as
   * the resolver gives them. Default false.
   */
  writeback?: boolean;
  /**
   * What a resolver failure (throw, rejection, timeout, invalid answer) does
   * to the faulting thread: 'sigbus' (poison the page; the reason is written
   * to stderr first; default), 'zero' (a zero page, reported on 'error'), or
   * { retry: n, then } (call the resolver up to n more times first).
   */
  onError?: OnError;
  /** Longest one resolver call may take for one fault, ms; past it, onError applies. Default: the handler's resolveTimeoutMs. */
  resolveTimeoutMs?: number;
  name?: string;
}

/** Every MapOptions key. */
export const MAP_OPTION_KEYS = optionNames<MapOptions>()(
  'size', 'pageSize', 'resolver', 'readahead', 'record', 'trackWrites', 'maxResident', 'evictTo', 'writeback', 'backing', 'minor', 'install', 'prefetch', 'fill', 'fillRate', 'onError', 'resolveTimeoutMs', 'name',
);

export interface AdoptRegion {
  /** Start address in the target process (page-aligned). */
  address: number;
  size: number;
  /** Bytes per page of the peer's range: the system's (default), or its huge page size (hugetlbfs). */
  pageSize?: number;
  resolver: ResolverSpec;
  /** Resolver offset of `address` (e.g. the region's offset in a memory file). Default 0. */
  offset?: number;
  readahead?: number;
  /** As for map(). */
  record?: boolean;
  /** As for map(): page indexes count from `offset`. */
  prefetch?: PrefetchPlan;
  /** As for map(). */
  fill?: FillMode;
  /** As for map(). */
  fillRate?: number;
  /**
   * As for map(). Default 'sigbus' when the peer's uffd has UFFD_FEATURE_POISON,
   * else 'zero' (SIGBUS cannot be delivered without it; asking for 'sigbus'
   * then is refused with ERR_FAULTLINE_FEATURE_UNSUPPORTED).
   */
  onError?: OnError;
  /** As for map(). */
  resolveTimeoutMs?: number;
  name?: string;
}

/** Every AdoptRegion key. */
export const ADOPT_REGION_KEYS = optionNames<AdoptRegion>()(
  'address',
  'size',
  'pageSize',
  'resolver',
  'offset',
  'readahead',
  'record',
  'prefetch',
  'fill',
  'fillRate',
  'onError',
  'resolveTimeoutMs',
  'name',
);

export interface AdoptOptions {
  regions: AdoptRegion[];
  /**
   * The events this program is prepared to see (default: all four). If the
   * peer negotiated an event not listed, adopt() refuses with
   * ERR_FAULTLINE_FEATURE_UNSUPPORTED instead of surprising you later.
   */
  events?: UffdEventKind[];
}

/** Every AdoptOptions key. */
export const ADOPT_OPTION_KEYS = optionNames<AdoptOptions>()('regions', 'events');

/** FaultHandlerOptions with every default applied and every value checked. */
export interface HandlerConfig {
  workers: number;
  ringCapacity: number;
  spinUs: number;
  parkMs: number;
  maxInflight: number;
  /** undefined: the default (on, unless the own uffd asks for events). */
  directPoll: boolean | undefined;
  nativeResolvers: boolean;
  userModeOnly: boolean;
  features: FeatureName[];
  maxRegions: number;
  statsIntervalMs: number;
  faultSampleEvery: number;
  resolveTimeoutMs: number;
  resolverLoadTimeoutMs: number;
  controlTimeoutMs: number;
  traceCapacity: number;
  install: InstallMode;
}

/** A map() or adopt() region with its defaults applied. */
export interface RegionConfig {
  size: number;
  pageSize: number;
  resolver: ResolverSpec;
  readahead: number;
  record: boolean;
  /** Own regions only (map()). */
  trackWrites?: boolean | WriteTrackingMode;
  /** Own regions only (map()): pages kept resident and after an eviction pass, and writeback. */
  eviction?: { maxPages: number; targetPages: number; writeback: boolean } | null;
  /** Own regions only (map()): see memory.ts. */
  backing?: Backing;
  minor?: boolean;
  install?: InstallMode;
  prefetch: PrefetchPlan | null;
  fill: FillMode;
  fillRate: number;
  /** The final answer to a failure, after `retries` more resolver calls. */
  onError: OnErrorPolicy;
  retries: number;
  resolveTimeoutMs: number;
  name: string;
}

/** An adopted region: a RegionConfig at an address of the peer, with its resolver offset. */
export interface AdoptRegionConfig extends RegionConfig {
  address: number;
  offset: number;
  /** The caller left onError unset (the peer's features decide it). */
  onErrorDefaulted: boolean;
}

const MAX_READAHEAD = 4096;
const MAX_TIMEOUT_MS = 24 * 3600 * 1000;

/**
 * A region's page size: the system's (`systemPageSize`, the default) or a huge
 * page size this kernel offers (/sys/kernel/mm/hugepages/hugepages-<kB>kB).
 */
export function checkPageSize(name: string, value: unknown, systemPageSize: number): number {
  if (value === undefined || value === systemPageSize) return systemPageSize;
  const offered = hugePageSizes();
  if (typeof value === 'number' && offered.includes(value)) return value;
  throw invalidArgument(
    `${name} must be the system page size (${systemPageSize}) or a huge page size this kernel offers ` +
      `(${offered.join(', ') || 'none'}), got ${describeValue(value)}`,
  );
}

/** The huge page sizes the kernel offers, in bytes. */
export function hugePageSizes(): number[] {
  try {
    return readdirSync('/sys/kernel/mm/hugepages')
      .map((d) => /^hugepages-(\d+)kB$/.exec(d)?.[1])
      .filter((kb): kb is string => kb !== undefined)
      .map((kb) => Number(kb) * 1024)
      .sort((a, b) => a - b);
  } catch {
    return [];
  }
}

function onErrorConfig(value: unknown, name: string): { onError: OnErrorPolicy; retries: number } {
  const { policy, retries } = checkOnError(value, name);
  return { onError: policy, retries };
}

/**
 * Spinning keeps a CPU awake so the next fault costs no wake-up, but only pays
 * while another CPU runs the faulting thread: with one CPU the spinner steals
 * the very time the faulting thread needs (docs/performance.md), so there the
 * leader sleeps at once.
 */
function defaultSpinUs(): number {
  return availableParallelism() >= 2 ? 50 : 0;
}

export function handlerConfig(given: FaultHandlerOptions): HandlerConfig {
  const options = checkOptions<FaultHandlerOptions>('FaultHandler.create()', given, FAULT_HANDLER_OPTION_KEYS);
  const ringCapacity = checkPositiveInt('ringCapacity', options.ringCapacity ?? 4096, 1 << 24);
  if ((ringCapacity & (ringCapacity - 1)) !== 0) {
    throw invalidArgument(`ringCapacity must be a power of two, got ${ringCapacity}`);
  }
  const features = checkNameList('features', options.features ?? [], Object.keys(FEATURE_BITS) as FeatureName[], 'uffd feature');
  return {
    workers: checkPositiveInt('workers', options.workers ?? 2, MAX_WORKERS),
    ringCapacity,
    spinUs: checkNonNegativeInt('spinUs', options.spinUs ?? defaultSpinUs(), 1_000_000),
    parkMs: checkPositiveInt('parkMs', options.parkMs ?? 100, 60_000),
    maxInflight: checkPositiveInt('maxInflight', options.maxInflight ?? 32, 4096),
    directPoll: options.directPoll === undefined ? undefined : checkBoolean('directPoll', options.directPoll),
    nativeResolvers: options.nativeResolvers === undefined ? true : checkBoolean('nativeResolvers', options.nativeResolvers),
    userModeOnly: options.userModeOnly === undefined ? false : checkBoolean('userModeOnly', options.userModeOnly),
    features,
    maxRegions: checkPositiveInt('maxRegions', options.maxRegions ?? 256, 65536),
    statsIntervalMs: checkPositiveInt('statsIntervalMs', options.statsIntervalMs ?? 1000, 24 * 3600 * 1000),
    faultSampleEvery: checkNonNegativeInt('faultSampleEvery', options.faultSampleEvery ?? 0, 0x7fffffff),
    resolveTimeoutMs: checkPositiveInt('resolveTimeoutMs', options.resolveTimeoutMs ?? 5000, MAX_TIMEOUT_MS),
    resolverLoadTimeoutMs: checkPositiveInt('resolverLoadTimeoutMs', options.resolverLoadTimeoutMs ?? 10_000, MAX_TIMEOUT_MS),
    controlTimeoutMs: checkPositiveInt('controlTimeoutMs', options.controlTimeoutMs ?? 10_000, MAX_TIMEOUT_MS),
    traceCapacity: checkPositiveInt('traceCapacity', options.traceCapacity ?? 1 << 20, 1 << 26),
    install: checkInstallMode('install', options.install),
  };
}

export function mapConfig(
  given: MapOptions,
  pageSize: number,
  defaultName: string,
  defaultTimeoutMs: number,
  defaultInstall: InstallMode = 'copy',
): RegionConfig {
  const options = checkOptions<MapOptions>('map()', given, MAP_OPTION_KEYS);
  const regionPageSize = checkPageSize('pageSize', options.pageSize, pageSize);
  return {
    ...checkMemory(options, regionPageSize, pageSize, defaultInstall),
    size: checkSize('size', options.size, regionPageSize),
    pageSize: regionPageSize,
    resolver: checkResolverSpec('resolver', options.resolver),
    readahead: checkPositiveInt('readahead', options.readahead ?? 1, MAX_READAHEAD),
    record: options.record === undefined ? false : checkBoolean('record', options.record),
    trackWrites: checkTrackWrites(options.trackWrites),
    eviction: checkEviction(options, regionPageSize, pageSize),
    prefetch: checkPrefetchPlan('prefetch', options.prefetch, regionPageSize, options.size),
    ...checkFill('', options),
    ...onErrorConfig(options.onError, 'onError'),
    resolveTimeoutMs: checkPositiveInt('resolveTimeoutMs', options.resolveTimeoutMs ?? defaultTimeoutMs, MAX_TIMEOUT_MS),
    name: options.name === undefined ? defaultName : checkName('name', options.name),
  };
}

export function adoptConfig(
  fd: number,
  options: AdoptOptions,
  pageSize: number,
  defaultTimeoutMs: number,
): { regions: AdoptRegionConfig[]; events: Set<UffdEventKind> } {
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) {
    throw invalidArgument(`adopt() needs a uffd file descriptor (a non-negative integer), got ${describeValue(fd)}`);
  }
  const given = checkOptions<AdoptOptions>('adopt()', options, ADOPT_OPTION_KEYS);
  if (!Array.isArray(given.regions) || given.regions.length === 0) {
    throw invalidArgument(`adopt() needs { regions: [{ address, size, resolver }, ...] }, got regions: ${describeValue(given.regions)}`);
  }
  const events = new Set<UffdEventKind>(
    given.events === undefined ? UFFD_EVENT_KINDS : checkNameList('events', given.events, UFFD_EVENT_KINDS, 'event'),
  );
  const regions = given.regions.map((region: unknown, i): AdoptRegionConfig => {
    const where = `regions[${i}]`;
    const r = checkOptions<AdoptRegion>(`adopt() ${where}`, region, ADOPT_REGION_KEYS);
    const regionPageSize = checkPageSize(`${where}.pageSize`, r.pageSize, pageSize);
    const offset = checkNonNegativeInt(`${where}.offset`, r.offset ?? 0);
    if (offset % pageSize !== 0) {
      throw invalidArgument(`${where}.offset must be a multiple of the page size (${pageSize}), got ${offset}`);
    }
    return {
      address: checkAddress(`${where}.address`, r.address, regionPageSize),
      size: checkSize(`${where}.size`, r.size, regionPageSize),
      pageSize: regionPageSize,
      resolver: checkResolverSpec(`${where}.resolver`, r.resolver),
      offset,
      readahead: checkPositiveInt(`${where}.readahead`, r.readahead ?? 1, MAX_READAHEAD),
      record: r.record === undefined ? false : checkBoolean(`${where}.record`, r.record),
      prefetch: checkPrefetchPlan(`${where}.prefetch`, r.prefetch, regionPageSize, r.size),
      ...checkFill(`${where}.`, r),
      ...onErrorConfig(r.onError, `${where}.onError`),
      resolveTimeoutMs: checkPositiveInt(`${where}.resolveTimeoutMs`, r.resolveTimeoutMs ?? defaultTimeoutMs, MAX_TIMEOUT_MS),
      onErrorDefaulted: r.onError === undefined,
      name: r.name === undefined ? `adopted-${fd}-${i}` : checkName(`${where}.name`, r.name),
    };
  });
  checkNoOverlap(regions);
  return { regions, events };
}

/**
 * Two adopted regions of one uffd covering the same page would give it two
 * resolvers, and the region table would serve whichever it found first.
 */
function checkNoOverlap(regions: readonly AdoptRegionConfig[]): void {
  const order = regions.map((r, i) => ({ r, i })).sort((a, b) => a.r.address - b.r.address);
  for (let k = 1; k < order.length; k++) {
    const a = order[k - 1]!;
    const b = order[k]!;
    if (a.r.address + a.r.size > b.r.address) {
      const [first, second] = a.i < b.i ? [a, b] : [b, a];
      throw invalidArgument(
        `adopt() regions[${first.i}] ${range(first.r)} and regions[${second.i}] ${range(second.r)} overlap; ` +
          'each page of the peer can have one resolver: split or shorten them',
      );
    }
  }
}

function range(r: { address: number; size: number }): string {
  return `[0x${r.address.toString(16)}, 0x${(r.address + r.size).toString(16)})`;
}

export interface CloseOptions {
  /** How long close() waits for the workers to answer what is pending, ms. Default 5000. */
  timeoutMs?: number;
}

/** Every CloseOptions key. */
export const CLOSE_OPTION_KEYS = optionNames<CloseOptions>()('timeoutMs');

/** What close() did with the faults pending when it was called. */
export interface CloseReport {
  /** Every fault was answered by the workers in time. */
  drained: boolean;
  /** Faults close() answered itself with their region's policy after timeoutMs (queued, or held by a resolver that did not return). */
  answeredAtClose: number;
  /** Threads still parked when the uffds were closed: they read plain memory (zeros for pages never touched). */
  unanswered: number;
}

export function closeConfig(given: CloseOptions): { timeoutMs: number } {
  const options = checkOptions<CloseOptions>('close()', given, CLOSE_OPTION_KEYS);
  return { timeoutMs: checkPositiveInt('timeoutMs', options.timeoutMs ?? 5000, MAX_TIMEOUT_MS) };
}

/** map()'s maxResident / evictTo / writeback, in pages, with what they cannot be combined with. */
function checkEviction(o: MapOptions, regionPageSize: number, systemPageSize: number): RegionConfig['eviction'] {
  if (o.maxResident === undefined) {
    if (o.evictTo !== undefined || o.writeback !== undefined) {
      throw invalidArgument('evictTo and writeback need maxResident (the resident budget, bytes)');
    }
    return null;
  }
  const max = checkSize('maxResident', o.maxResident, regionPageSize);
  const maxPages = max / regionPageSize;
  const target = o.evictTo === undefined ? Math.floor((maxPages * 3) / 4) * regionPageSize : checkSize('evictTo', o.evictTo, regionPageSize);
  if (target >= max) throw invalidArgument(`evictTo (${target}) must be below maxResident (${max})`);
  if (regionPageSize !== systemPageSize) throw invalidArgument('maxResident works on regions of the system page size, not huge pages');
  if (o.prefetch !== undefined || (o.fill !== undefined && o.fill !== 'lazy')) throw invalidArgument('maxResident cannot be combined with prefetch or fill');
  if (o.trackWrites) throw invalidArgument('maxResident cannot be combined with trackWrites (eviction moves pages out with their write-protection)');
  const writeback = o.writeback === undefined ? false : checkBoolean('writeback', o.writeback);
  return { maxPages, targetPages: target / regionPageSize, writeback };
}

/** map()'s trackWrites: false (default), true (the best mode the kernel has), 'async' or 'sync'. */
function checkTrackWrites(value: unknown): boolean | WriteTrackingMode {
  if (value === undefined) return false;
  if (typeof value === 'boolean' || value === 'async' || value === 'sync') return value;
  throw invalidArgument(`trackWrites must be true, false, 'async' or 'sync', got ${describeValue(value)}`);
}
