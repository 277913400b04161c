/**
 * The page resolver contract. A resolver is a module, loaded in every worker,
 * whose default export builds a resolver from structured-cloneable options:
 *
 *   export default function create(options, info) {
 *     return { resolve(request, out) { out.set(bytesFor(request.offset)); } };
 *   }
 *
 * `resolve` fills `out` (the worker's scratch pages, `request.length` bytes)
 * or answers another way (see ResolveResult). It may be async. It must never
 * touch registered memory: it would fault on itself and wait forever.
 */

export interface ResolveRequest {
  /** Byte offset of the first requested page in the resolver's space (region offset + base offset). */
  offset: number;
  /** Bytes requested: one page, or more with readahead (always whole pages, never past the region). */
  length: number;
  /** Address of the first requested page (in the faulting process). */
  address: number;
  /** The faulting access was a write. */
  write: boolean;
  /**
   * A minor fault (map `minor`, or a peer's range registered MINOR): the page
   * is in the page cache (a memfd's, shmem's) but not mapped at `address`.
   * Answer 'continue' to map it as it is, after editing it through another
   * mapping of the same memory if need be; `out` is ignored then. false: the
   * page is missing everywhere (fill `out`, or 'zero'...). Always one page.
   */
  minor: boolean;
  /** Page size of the region. */
  pageSize: number;
  /** Which region (handler-wide id) and which uffd. */
  regionId: number;
  uffdId: number;
  /**
   * Set by a prefetch when the resolver declares `bulk` (never for a fault):
   * a span of the recorded working set, gaps included, that nobody waits on
   * yet. Its bytes are installed once (only the working set's pages of it),
   * so a resolver may fetch them in bulk and keep them out of its caches.
   */
  bulk?: boolean;
}

export type ResolveResult =
  /** `out` is filled: install all `request.length` bytes. */
  | undefined
  | void
  /** Only the first `filled` bytes of `out` are valid (rounded down to pages; at least one page). */
  | { filled: number }
  /** Install these bytes instead of `out` (no copy in JS: e.g. a view of a mapped snapshot file). */
  | { source: ArrayBufferView }
  /** Install zero pages. */
  | 'zero'
  /** Poison the faulting page: the faulting thread gets SIGBUS. */
  | 'poison'
  /** Wake the faulting thread without installing: it faults again (a fresh message). */
  | 'retry'
  /**
   * The page cache holds the pages (a minor fault, or pages the resolver put
   * there through another mapping of the memfd): map them (UFFDIO_CONTINUE),
   * all `request.length` bytes or up to the first page not in the page cache.
   */
  | 'continue';

export interface PageResolver {
  resolve(request: ResolveRequest, out: Uint8Array): ResolveResult | Promise<ResolveResult>;
  /**
   * Stores `bytes` (whole pages) at resolver offset `offset`: eviction with
   * writeback (map `maxResident` + `writeback`) calls it for pages whose
   * contents differ from what resolve() gives, before they are dropped; a
   * later fault must then resolve to these bytes. `bytes` is valid until
   * write() returns (or its promise settles): copy what you keep. Optional.
   */
  write?(offset: number, bytes: Uint8Array): void | Promise<void>;
  /** Called when the region goes away or the handler closes. */
  close?(): void | Promise<void>;
  /**
   * Optional: this resolver answers one large request far more cheaply than
   * many small ones (each request costs a round trip or a fixed overhead).
   * A prefetch without page data then asks it for spans of the working set
   * (sorted by address, in the order the plan first needs them), merging
   * gaps of up to `gapBytes` between working-set pages into one request
   * (those bytes are fetched but not installed); requests carry `bulk: true`.
   * Without it, a prefetch asks for runs of consecutive pages in plan order.
   */
  bulk?: { gapBytes: number };
}

export interface ResolverInfo {
  pageSize: number;
  /** Size of the region (or adopted range) this instance serves. */
  regionSize: number;
  regionId: number;
  name: string;
  /**
   * Regions mapped with backing 'memfd': the memfd, so the resolver can map
   * the region's page cache itself (mmap MAP_SHARED; never the registered
   * range) and answer 'continue' once a page is there. Open while the region is.
   */
  memfd?: number;
}

export type ResolverFactory<Options = unknown> = (
  options: Options,
  info: ResolverInfo,
) => PageResolver | Promise<PageResolver>;

/** What `map()`/`adopt()` take: which module to load in the workers, with which options. */
export interface ResolverSpec<Options = unknown> {
  /** A file: URL (or absolute path) of the resolver module. */
  module: string;
  options: Options;
}
