/** A uffd of another process served by this handler (see FaultHandler.adopt). */
import { EventEmitter } from 'eventemitter3';
import type { FaultHandler } from './handler.js';
import type { RegionStats } from './region-stats.js';
import type { FeatureName } from './features.js';

export type UffdEvent =
  | { uffdId: number; kind: 'fork'; childUffdId: number }
  | { uffdId: number; kind: 'remap'; from: number; to: number; length: number }
  | { uffdId: number; kind: 'remove'; start: number; end: number }
  | { uffdId: number; kind: 'unmap'; start: number; end: number };

export interface AdoptedUffdEvents {
  event: [UffdEvent];
}

export class AdoptedUffd extends EventEmitter<AdoptedUffdEvents> {
  /** uffd ids of fork children being served along with this one. */
  readonly children: number[] = [];
  private closed = false;

  /** @internal created by FaultHandler.adopt() */
  constructor(
    private readonly handler: FaultHandler,
    readonly fd: number,
    readonly uffdId: number,
    readonly regionIds: readonly number[],
    /** Features the peer negotiated on this uffd (its events among them). */
    readonly features: readonly FeatureName[],
  ) {
    super();
  }

  /** Counters per adopted region, in the order they were given. */
  stats(): RegionStats[] {
    return this.regionIds.map((id) => this.handler.regionStats(id));
  }

  /** Answers what is pending, stops serving and closes the uffd (and any fork child's). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handler.releaseAdopted(this);
  }
}
