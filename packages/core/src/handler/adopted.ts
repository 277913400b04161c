/** A uffd of another process served by this handler (see FaultHandler.adopt). */
import { EventEmitter } from 'eventemitter3';
import type { UffdEvent } from '../events.js';
import type { FeatureName } from '../features.js';
import type { RegionStats } from '../shared/region-stats.js';
import type { PrefetchReport, Trace } from '../trace/plan.js';
import { NO_PREFETCH, type RegionHost } from './owner.js';

export interface AdoptedUffdEvents {
  event: [UffdEvent];
}

export class AdoptedUffd extends EventEmitter<AdoptedUffdEvents> {
  /** uffd ids of fork children being served along with this one. */
  readonly children: number[] = [];
  private closed = false;

  constructor(
    private readonly host: RegionHost,
    readonly fd: number,
    readonly uffdId: number,
    readonly regionIds: readonly number[],
    /** Features the peer negotiated on this uffd (its events among them). */
    readonly features: readonly FeatureName[],
    /** The regions' names, in the order they were given. */
    readonly names: readonly string[],
    /** Each region's prefetch (null without one). */
    private readonly prefetches: readonly (Promise<PrefetchReport> | null)[] = [],
  ) {
    super();
  }

  /** Each region's recorded first touches (adopt with `record: true`), in the order they were given. Read before close(). */
  traces(): Trace[] {
    return this.regionIds.map((id, i) => this.host.trace(id, this.names[i] ?? String(id)));
  }

  /** Resolves when every region's prefetch (adopt regions' `prefetch`) is over, with what each did. */
  async prefetched(): Promise<PrefetchReport[]> {
    return Promise.all(this.regionIds.map(async (_id, i) => (await this.prefetches[i]) ?? { ...NO_PREFETCH }));
  }

  /** Counters per adopted region, in the order they were given. */
  stats(): RegionStats[] {
    return this.regionIds.map((id) => this.host.regionStats(id));
  }

  /** Answers what is pending, stops serving and closes the uffd (and any fork child's). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.host.releaseAdopted(this.uffdId);
  }
}
