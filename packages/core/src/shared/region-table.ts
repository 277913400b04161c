/**
 * The region table: which address ranges of which uffd are served how.
 *
 * It lives in a SharedArrayBuffer because every worker looks addresses up on
 * every fault, and because non-cooperative events (REMAP, REMOVE, UNMAP, FORK)
 * must change it from whichever worker claims the event, without a round trip
 * through the main thread.
 *
 * Concurrency: a seqlock. Writers (rare: map/unmap on the main thread, events
 * in workers) take a spin lock and make the version odd while they mutate;
 * readers (every fault) scan and retry if the version moved. Addresses are
 * stored in a Float64Array: user addresses are below 2^53, so they are exact.
 */
import { FaultlineError } from '../errors.js';

const HEADER_BYTES = 64;
const LOCK = 0;
const VERSION = 1;
const CAPACITY = 2;
/** One past the highest slot ever used, so scans stop early. */
const HIGH_WATER = 3;

// Entry layout (Float64 words). packages/native/src/serve/region_table.h reads
// the same layout (the native fast path looks faults up too): keep in step.
const ENTRY_WORDS = 16;
const E_STATE = 0;
const E_UFFD = 1;
const E_START = 2;
const E_LENGTH = 3;
const E_REGION = 4;
const E_OFFSET = 5;
const E_READAHEAD = 6;
const E_FLAGS = 7;
const E_NATIVE = 8;
const E_NATIVE_ARG = 9;
const E_NATIVE_BASE = 10;
const E_NATIVE_SIZE = 11;
/** The range's page size (hugetlbfs: 2 MiB); 0 in old entries means the system's. */
const E_PAGE_SIZE = 12;
/** The address of the region's eviction marker (maxResident), read by the native fast path; 0: none. */
const E_EVICTION = 13;
/** trackWrites 'sync': the address of the region's dirty bitmap (shared/dirty-bitmap.ts), 0 otherwise. */
const E_DIRTY_BITMAP = 14;

export const ENTRY_FREE = 0;
/** Served by the region's resolver. */
export const ENTRY_REGION = 1;
/** Discarded by the target (REMOVE): later faults get zero pages, whatever the resolver says. */
export const ENTRY_ZERO = 2;

/** Entry flag: resolver failures install zero pages instead of poisoning (SIGBUS). */
export const FLAG_ON_ERROR_ZERO = 1;
/** Entry flag: first-touch faults are appended to the fault trace (map/adopt `record: true`). */
export const FLAG_RECORD = 2;
/** Entry flag: the range is registered MISSING|WP on a WP_ASYNC uffd; installs are write-protected (map `trackWrites`). */
export const FLAG_TRACK_WRITES = 4;
/** Entry flag: pages from the installer's scratch go in by UFFDIO_MOVE, not COPY (map `install: 'move'`). */
export const FLAG_INSTALL_MOVE = 8;

/**
 * How the native waiter may serve the entry's faults itself, without JS
 * (a built-in resolver it knows; see handler/native-resolvers.ts). Anything
 * it cannot do (a read error, a page past the end of a snapshot) goes to the
 * JS resolver, which stays loaded in every worker.
 */
export const NATIVE_NONE = 0;
/** Zero pages. */
export const NATIVE_ZERO = 1;
/** The pattern resolver's content; arg: seed. */
export const NATIVE_PATTERN = 2;
/** pread from a file; arg: fd (the handler's), base: file offset of resolver offset 0. */
export const NATIVE_FILE = 3;
/** Copied from a mapped file; arg: mapping address, base: file offset of resolver offset 0, size: file size. */
export const NATIVE_SNAPSHOT = 4;
/** resolvers.pageCache(): minor faults CONTINUE; missing ones get a zero page (arg 0) or go to JS (arg 1: poison). */
export const NATIVE_PAGE_CACHE = 5;

export interface NativeResolver {
  kind: number;
  arg: number;
  base: number;
  size: number;
}

export interface TableEntry {
  state: number;
  uffdId: number;
  start: number;
  length: number;
  regionId: number;
  /** Resolver offset of `start`: a fault at `a` asks the resolver for offset + (a - start). */
  offset: number;
  readahead: number;
  flags: number;
  /** NATIVE_* (absent: NATIVE_NONE) and its parameters. */
  native?: NativeResolver;
  /** Bytes per page of the range: the system page size, or a huge page size (hugetlbfs). */
  pageSize: number;
  /** Address of the region's eviction marker (a region mapped with maxResident), so the native path can check it; 0 or absent: none. */
  eviction?: number;
  /**
   * trackWrites 'sync': the address of the region's dirty bitmap SAB, so the
   * native path serves its write-protect faults too (the handler keeps the SAB
   * alive while the entry exists). Absent or 0: none.
   */
  dirtyBitmap?: number;
}

/** Result of a lookup, reused by the caller to avoid an allocation per fault. */
export class LookupResult implements TableEntry {
  state = ENTRY_FREE;
  uffdId = 0;
  start = 0;
  length = 0;
  regionId = 0;
  offset = 0;
  readahead = 1;
  flags = 0;
  native: NativeResolver = { kind: NATIVE_NONE, arg: 0, base: 0, size: 0 };
  eviction = 0;
  pageSize = 0;
  dirtyBitmap = 0;
}

export class RegionTable {
  readonly sab: SharedArrayBuffer;
  private readonly header: Int32Array;
  private readonly entries: Float64Array;
  readonly capacity: number;

  static byteLength(capacity: number): number {
    return HEADER_BYTES + capacity * ENTRY_WORDS * 8;
  }

  static create(capacity = 1024): RegionTable {
    const sab = new SharedArrayBuffer(RegionTable.byteLength(capacity));
    new Int32Array(sab, 0, 4)[CAPACITY] = capacity;
    return new RegionTable(sab);
  }

  constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.header = new Int32Array(sab, 0, HEADER_BYTES / 4);
    this.capacity = this.header[CAPACITY] ?? 0;
    this.entries = new Float64Array(sab, HEADER_BYTES, this.capacity * ENTRY_WORDS);
  }

  /** Current version (even when stable); changes on every write. */
  version(): number {
    return Atomics.load(this.header, VERSION);
  }

  /**
   * Finds what serves `address` of uffd `uffdId`. Zero-fill overrides win over
   * regions. Returns false when nothing covers the address.
   */
  lookup(uffdId: number, address: number, out: LookupResult): boolean {
    const e = this.entries;
    for (;;) {
      const v1 = Atomics.load(this.header, VERSION);
      if ((v1 & 1) !== 0) continue; // a writer is mid-update
      const high = Atomics.load(this.header, HIGH_WATER);
      let found = -1;
      for (let i = 0; i < high; i++) {
        const b = i * ENTRY_WORDS;
        const state = e[b + E_STATE];
        if (state === ENTRY_FREE || e[b + E_UFFD] !== uffdId) continue;
        const start = e[b + E_START]!;
        if (address < start || address >= start + e[b + E_LENGTH]!) continue;
        found = i;
        if (state === ENTRY_ZERO) break;
      }
      if (found >= 0) this.read(found, out);
      if (Atomics.load(this.header, VERSION) === v1) return found >= 0;
    }
  }

  /** Every live entry (a consistent snapshot). */
  snapshot(): TableEntry[] {
    for (;;) {
      const v1 = Atomics.load(this.header, VERSION);
      if ((v1 & 1) !== 0) continue;
      const out: TableEntry[] = [];
      const high = Atomics.load(this.header, HIGH_WATER);
      for (let i = 0; i < high; i++) {
        if (this.entries[i * ENTRY_WORDS + E_STATE] === ENTRY_FREE) continue;
        const r = new LookupResult();
        this.read(i, r);
        out.push({ ...r });
      }
      if (Atomics.load(this.header, VERSION) === v1) return out;
    }
  }

  insert(entry: TableEntry): void {
    this.write(() => this.put(entry));
  }

  /** Drops every entry of region `regionId`. */
  removeRegion(regionId: number): void {
    this.write(() => this.dropWhere((b) => this.entries[b + E_REGION] === regionId));
  }

  /** Drops every entry of uffd `uffdId`. */
  removeUffd(uffdId: number): void {
    this.write(() => this.dropWhere((b) => this.entries[b + E_UFFD] === uffdId));
  }

  /** REMOVE: [start, end) of uffdId reads as zero from now on (inside served regions only). */
  zeroRange(uffdId: number, start: number, end: number): void {
    this.write(() => {
      for (const piece of this.cut(uffdId, start, end)) {
        this.put({ ...piece, state: ENTRY_ZERO });
      }
    });
  }

  /** UNMAP: [start, end) of uffdId is no longer served. */
  unmapRange(uffdId: number, start: number, end: number): void {
    this.write(() => {
      this.cut(uffdId, start, end);
    });
  }

  /** REMAP: what served [from, from+len) now serves [to, to+len) (same resolver offsets). */
  remap(uffdId: number, from: number, to: number, len: number): void {
    this.write(() => {
      for (const piece of this.cut(uffdId, from, from + len)) {
        this.put({ ...piece, start: to + (piece.start - from) });
      }
    });
  }

  /** FORK: the child's uffd is served like the parent's (same regions, resolvers and zero ranges). */
  cloneUffd(parentId: number, childId: number): void {
    this.write(() => {
      const high = Atomics.load(this.header, HIGH_WATER);
      const copies: TableEntry[] = [];
      for (let i = 0; i < high; i++) {
        const b = i * ENTRY_WORDS;
        if (this.entries[b + E_STATE] === ENTRY_FREE || this.entries[b + E_UFFD] !== parentId) continue;
        const r = new LookupResult();
        this.read(i, r);
        // A child's writes are not the parent's: its WP faults are only lifted, never noted.
        copies.push({ ...r, uffdId: childId, dirtyBitmap: 0 });
      }
      for (const c of copies) this.put(c);
    });
  }

  // ---- internals (callers hold the write lock) ----

  private read(i: number, out: LookupResult): void {
    const b = i * ENTRY_WORDS;
    const e = this.entries;
    out.state = e[b + E_STATE]!;
    out.uffdId = e[b + E_UFFD]!;
    out.start = e[b + E_START]!;
    out.length = e[b + E_LENGTH]!;
    out.regionId = e[b + E_REGION]!;
    out.offset = e[b + E_OFFSET]!;
    out.readahead = e[b + E_READAHEAD]!;
    out.flags = e[b + E_FLAGS]!;
    const n = out.native;
    n.kind = e[b + E_NATIVE]!;
    n.arg = e[b + E_NATIVE_ARG]!;
    n.base = e[b + E_NATIVE_BASE]!;
    n.size = e[b + E_NATIVE_SIZE]!;
    out.pageSize = e[b + E_PAGE_SIZE]!;
    out.eviction = e[b + E_EVICTION]!;
    out.dirtyBitmap = e[b + E_DIRTY_BITMAP]!;
  }

  private put(entry: TableEntry): void {
    const high = Atomics.load(this.header, HIGH_WATER);
    let slot = -1;
    for (let i = 0; i < high; i++) {
      if (this.entries[i * ENTRY_WORDS + E_STATE] === ENTRY_FREE) {
        slot = i;
        break;
      }
    }
    if (slot < 0) {
      if (high >= this.capacity) {
        throw new FaultlineError(
          'ERR_FAULTLINE_TABLE_FULL',
          `the region table is full (${this.capacity} entries); unmap regions, or create the handler with a larger maxRegions (the table holds 4 entries per region)`,
        );
      }
      slot = high;
      Atomics.store(this.header, HIGH_WATER, high + 1);
    }
    const b = slot * ENTRY_WORDS;
    const e = this.entries;
    e[b + E_UFFD] = entry.uffdId;
    e[b + E_START] = entry.start;
    e[b + E_LENGTH] = entry.length;
    e[b + E_REGION] = entry.regionId;
    e[b + E_OFFSET] = entry.offset;
    e[b + E_READAHEAD] = entry.readahead;
    e[b + E_FLAGS] = entry.flags;
    e[b + E_NATIVE] = entry.native?.kind ?? NATIVE_NONE;
    e[b + E_NATIVE_ARG] = entry.native?.arg ?? 0;
    e[b + E_NATIVE_BASE] = entry.native?.base ?? 0;
    e[b + E_NATIVE_SIZE] = entry.native?.size ?? 0;
    e[b + E_PAGE_SIZE] = entry.pageSize ?? 0; // 0: the system page size
    e[b + E_EVICTION] = entry.eviction ?? 0;
    e[b + E_DIRTY_BITMAP] = entry.dirtyBitmap ?? 0;
    e[b + E_STATE] = entry.state;
  }

  private dropWhere(pred: (base: number) => boolean): void {
    const high = Atomics.load(this.header, HIGH_WATER);
    for (let i = 0; i < high; i++) {
      const b = i * ENTRY_WORDS;
      if (this.entries[b + E_STATE] !== ENTRY_FREE && pred(b)) this.entries[b + E_STATE] = ENTRY_FREE;
    }
  }

  /**
   * Removes [start, end) from every entry of uffdId, keeping the parts outside,
   * and returns the parts that were inside (with their resolver offsets).
   */
  private cut(uffdId: number, start: number, end: number): TableEntry[] {
    const inside: TableEntry[] = [];
    const outside: TableEntry[] = [];
    const high = Atomics.load(this.header, HIGH_WATER);
    for (let i = 0; i < high; i++) {
      const b = i * ENTRY_WORDS;
      if (this.entries[b + E_STATE] === ENTRY_FREE || this.entries[b + E_UFFD] !== uffdId) continue;
      const r = new LookupResult();
      this.read(i, r);
      const rEnd = r.start + r.length;
      if (rEnd <= start || r.start >= end) continue;
      this.entries[b + E_STATE] = ENTRY_FREE;
      if (r.start < start) outside.push({ ...r, length: start - r.start });
      if (rEnd > end) outside.push({ ...r, start: end, length: rEnd - end, offset: r.offset + (end - r.start) });
      const s = Math.max(start, r.start);
      const e = Math.min(end, rEnd);
      inside.push({ ...r, start: s, length: e - s, offset: r.offset + (s - r.start) });
    }
    for (const o of outside) this.put(o);
    return inside;
  }

  private write(mutate: () => void): void {
    while (Atomics.compareExchange(this.header, LOCK, 0, 1) !== 0) {
      // Writers are rare and short: spinning is cheaper than parking here.
    }
    Atomics.add(this.header, VERSION, 1);
    try {
      mutate();
    } finally {
      Atomics.add(this.header, VERSION, 1);
      Atomics.store(this.header, LOCK, 0);
    }
  }
}
