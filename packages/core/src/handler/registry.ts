/**
 * Which regions and adopted uffds a handler serves: region ids (the index of
 * a region's counters and resolver in every worker), their owners, and the
 * adopted uffds by uffd id (fork children included).
 */
import { FaultlineError } from '../errors.js';
import type { ToWorker } from '../worker/protocol.js';
import type { RegionStats, StatsBlock } from '../shared/region-stats.js';
import type { AdoptedUffd } from './adopted.js';
import { Region } from './region.js';

export class RegionRegistry {
  private readonly owners = new Map<number, Region | AdoptedUffd>();
  private readonly adoptedByUffd = new Map<number, AdoptedUffd>();
  /** How each live region's resolver is loaded (a replacement worker loads them all). */
  private readonly loads = new Map<number, Extract<ToWorker, { type: 'load-resolver' }>>();
  /** What each region holds outside the table (a native resolver's fd or mapping). */
  private readonly releasers = new Map<number, () => void>();
  private readonly freeIds: number[] = [];
  private nextId = 0;

  constructor(
    private readonly maxRegions: number,
    private readonly stats: StatsBlock,
  ) {}

  /** A free region id with zeroed counters. */
  allocate(): number {
    const id = this.freeIds.pop() ?? (this.nextId < this.maxRegions ? this.nextId++ : -1);
    if (id < 0) {
      throw new FaultlineError(
        'ERR_FAULTLINE_TABLE_FULL',
        `too many regions (${this.maxRegions}); unmap some or create the handler with a larger maxRegions`,
      );
    }
    this.stats.reset(id);
    return id;
  }

  /** The id a region mapped now would most likely get (for default names). */
  peekId(): number {
    return this.freeIds.at(-1) ?? this.nextId;
  }

  /** Remembers how region `id`'s resolver was loaded. */
  setLoad(id: number, load: Extract<ToWorker, { type: 'load-resolver' }>): void {
    this.loads.set(id, load);
  }

  loadMessages(): Extract<ToWorker, { type: 'load-resolver' }>[] {
    return [...this.loads.values()];
  }

  /** Region `id`'s resolveTimeoutMs and name, while it is live. */
  limits(id: number): { resolveTimeoutMs: number; name: string } | undefined {
    const load = this.loads.get(id);
    return load ? { resolveTimeoutMs: load.resolveTimeoutMs, name: load.name } : undefined;
  }

  /** Runs `release` when region `id` is released (once no fault can use what it frees); several run in the order given. */
  onRelease(id: number, release: () => void): void {
    const before = this.releasers.get(id);
    this.releasers.set(id, before ? () => (before(), release()) : release);
  }

  /** Gives `id` back: its owner is forgotten and what it held is released. */
  release(id: number): void {
    this.owners.delete(id);
    this.loads.delete(id);
    this.releasers.get(id)?.();
    this.releasers.delete(id);
    this.freeIds.push(id);
  }

  addRegion(region: Region): void {
    this.owners.set(region.id, region);
  }

  addAdopted(adopted: AdoptedUffd): void {
    this.adoptedByUffd.set(adopted.uffdId, adopted);
    for (const id of adopted.regionIds) this.owners.set(id, adopted);
  }

  /** Forgets an adopted uffd (its region ids are released separately). */
  removeAdopted(uffdId: number): AdoptedUffd | undefined {
    const adopted = this.adoptedByUffd.get(uffdId);
    this.adoptedByUffd.delete(uffdId);
    return adopted;
  }

  region(id: number): Region | undefined {
    const owner = this.owners.get(id);
    return owner instanceof Region ? owner : undefined;
  }

  /** The adopted uffd that `uffdId` is, or is a fork child of. */
  adoptedFor(uffdId: number): AdoptedUffd | undefined {
    const direct = this.adoptedByUffd.get(uffdId);
    if (direct) return direct;
    for (const a of this.adoptedByUffd.values()) if (a.children.includes(uffdId)) return a;
    return undefined;
  }

  /** Every region of this process (not adopted ones). */
  ownRegions(): Region[] {
    return [...new Set(this.owners.values())].filter((o): o is Region => o instanceof Region);
  }

  /** Counters of every live region: own regions by name, adopted ones by id. */
  statsByName(): Record<string, RegionStats> {
    const out: Record<string, RegionStats> = {};
    for (const [id, owner] of this.owners) out[owner instanceof Region ? owner.name : `${id}`] = this.stats.read(id);
    return out;
  }

  /** Forgets everything and releases what every region held (the handler is closed). */
  clear(): void {
    for (const release of this.releasers.values()) release();
    this.releasers.clear();
    this.loads.clear();
    this.owners.clear();
    this.adoptedByUffd.clear();
  }
}
