/**
 * The fault trace: the first-touch faults of recording regions (map/adopt
 * `record: true`), in the order they were served, appended by whichever
 * thread served them — the native fast path (serve/fault_trace.h, same
 * layout) or a worker in JS (fault.ts) — and read by the main thread.
 *
 *   header: 16 int32 words; [0] next entry index (Atomics.add claims one),
 *           [1] capacity in entries
 *   entry:  4 uint32 words: region id + 1 (written last; 0 = not written
 *           yet), page index in the resolver's space (resolver offset / page
 *           size), microseconds since the handler's epoch, 0
 *
 * One buffer per handler: appends are one atomic add and three stores, so
 * recording costs the fault path almost nothing. Past the capacity appends
 * are counted but not stored, and the trace says it is incomplete.
 */
const HEADER_WORDS = 16;
const ENTRY_WORDS = 4;
const NEXT = 0;
const CAPACITY = 1;

/** A region's recorded first touches, in order. */
export interface TraceEntries {
  /** Page indexes in the region's resolver space, first touch first; each page once. */
  pages: Uint32Array;
  /** Microseconds since recording began, per page. */
  timesUs: Uint32Array;
  /** False when the handler's trace buffer filled up and later faults were not recorded. */
  complete: boolean;
}

export class FaultTraceBuffer {
  readonly sab: SharedArrayBuffer;
  private readonly words: Int32Array;
  private readonly entries: Uint32Array;
  readonly capacity: number;

  static create(capacity: number): FaultTraceBuffer {
    const sab = new SharedArrayBuffer((HEADER_WORDS + capacity * ENTRY_WORDS) * 4);
    new Int32Array(sab)[CAPACITY] = capacity;
    return new FaultTraceBuffer(sab);
  }

  constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.words = new Int32Array(sab);
    this.capacity = this.words[CAPACITY]!;
    this.entries = new Uint32Array(sab, HEADER_WORDS * 4, this.capacity * ENTRY_WORDS);
  }

  /** Appends one first touch (the JS twin of FaultTraceView::Append). */
  append(regionId: number, pageIndex: number, timeUs: number): void {
    const i = Atomics.add(this.words, NEXT, 1) >>> 0;
    if (i >= this.capacity) return;
    const b = i * ENTRY_WORDS;
    this.entries[b + 1] = pageIndex;
    this.entries[b + 2] = timeUs > 0 ? Math.min(timeUs, 0xffffffff) : 0;
    Atomics.store(this.entries, b, regionId + 1);
  }

  /** Where the next append goes: a region that starts recording now reads from here. */
  position(): number {
    return Atomics.load(this.words, NEXT) >>> 0;
  }

  /**
   * Region `regionId`'s entries appended since `from` (its position when it
   * started recording), each page once, times relative to `startUs`. Entries
   * hold resolver-space page indexes; `basePage` (the region's resolver
   * offset / page size) makes them region page indexes.
   */
  collect(regionId: number, from: number, startUs: number, basePage: number): TraceEntries {
    const end = this.position();
    const stored = Math.min(end, this.capacity);
    const pages: number[] = [];
    const times: number[] = [];
    const seen = new Set<number>();
    for (let i = from; i < stored; i++) {
      const b = i * ENTRY_WORDS;
      if (Atomics.load(this.entries, b) !== regionId + 1) continue; // another region's, or still being written
      const page = this.entries[b + 1]! - basePage;
      if (seen.has(page)) continue; // faulted again after a discard: the first touch is what counts
      seen.add(page);
      pages.push(page);
      times.push(Math.max(0, this.entries[b + 2]! - startUs));
    }
    return { pages: Uint32Array.from(pages), timesUs: Uint32Array.from(times), complete: end <= this.capacity };
  }
}
