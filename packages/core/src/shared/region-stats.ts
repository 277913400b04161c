/**
 * Per-region counters, shared by every worker (Atomics.add into one SAB) and
 * read by the main thread without any message passing. 32-bit counters read
 * as unsigned: they wrap after 4 G events, far beyond a region's life here.
 */
export const STAT_NAMES = [
  /** Fault messages handled for the region. */
  'faults',
  /** Pages installed (COPY/ZEROPAGE bytes / page size), readahead included. */
  'pagesInstalled',
  /** Calls into the resolver. */
  'resolverCalls',
  /** Installs that found the page already there (another thread won): woken, not an error. */
  'eexist',
  /** Pages installed as zero (resolver 'zero', removed ranges, onError 'zero'). */
  'zeroFills',
  /** Pages poisoned (resolver failure with onError 'sigbus', or resolver 'poison'). */
  'poisoned',
  /** Resolver failures (thrown, rejected, or an invalid result). */
  'errors',
  /** Faults re-delivered (resolver 'retry', EAGAIN while the target's memory map changed). */
  'retries',
  /** Installs dropped because the range or the process went away (ENOENT, ESRCH). */
  'dropped',
  /** Pages mapped from the page cache by UFFDIO_CONTINUE (minor faults answered 'continue'); also in pagesInstalled. */
  'continued',
  /** Pages installed by UFFDIO_MOVE of the scratch (install: 'move'); also in pagesInstalled. */
  'moved',
] as const;

export type StatName = (typeof STAT_NAMES)[number];
export type RegionStats = Record<StatName, number>;

export const STAT_COUNT = STAT_NAMES.length;
export const STAT: { readonly [K in StatName]: number } = Object.fromEntries(
  STAT_NAMES.map((n, i) => [n, i]),
) as { [K in StatName]: number };

export class StatsBlock {
  readonly sab: SharedArrayBuffer;
  private readonly words: Int32Array;
  readonly regions: number;

  static create(regions: number): StatsBlock {
    return new StatsBlock(new SharedArrayBuffer(regions * STAT_COUNT * 4));
  }

  constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.words = new Int32Array(sab);
    this.regions = this.words.length / STAT_COUNT;
  }

  add(regionId: number, stat: number, n = 1): void {
    Atomics.add(this.words, regionId * STAT_COUNT + stat, n);
  }

  /** One counter of one region. */
  get(regionId: number, stat: number): number {
    return Atomics.load(this.words, regionId * STAT_COUNT + stat) >>> 0;
  }

  read(regionId: number): RegionStats {
    const out = {} as RegionStats;
    const base = regionId * STAT_COUNT;
    STAT_NAMES.forEach((name, i) => {
      out[name] = Atomics.load(this.words, base + i) >>> 0;
    });
    return out;
  }

  reset(regionId: number): void {
    const base = regionId * STAT_COUNT;
    for (let i = 0; i < STAT_COUNT; i++) Atomics.store(this.words, base + i, 0);
  }
}
