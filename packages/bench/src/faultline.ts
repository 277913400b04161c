// The Faultline side's plumbing: resolver specs per content kind, region
// release, and a pool of FaultHandlers keyed by worker count so scenarios
// share warm handlers instead of paying a Piscina start-up per round.
import { FaultHandler, resolvers, type FaultHandlerOptions, type Region, type ResolverSpec } from '@faultline/core';
import native from '@faultline/native';
import testing from '@faultline/native/testing';

export type Content = 'pattern' | 'zero' | 'file';

export function resolverFor(content: Content, seed: number, file: string): ResolverSpec<unknown> {
  if (content === 'zero') return resolvers.zero();
  if (content === 'pattern') return resolvers.pattern({ seed });
  return resolvers.file(file, { offset: 0 });
}

/** Unregisters a region and gives its pages back now (its SharedArrayBuffer is freed only by GC). */
export async function releaseRegion(region: Region): Promise<void> {
  await region.unmap();
  native.madvise(region.address, region.size, native.constants.MADV_DONTNEED);
}

/**
 * FaultHandler options from the command line (--spin, --no-direct-poll,
 * --handler-option), passed through as given: the library validates its own
 * options, and its option set may change under the bench. `workers` is always
 * the scenario's.
 */
export type HandlerTuning = Record<string, boolean | number | string>;

export class HandlerPool {
  readonly #handlers = new Map<number, Promise<FaultHandler>>();

  constructor(private readonly tuning: HandlerTuning = {}) {}

  /** RSS the process gained when each handler was created and warmed (workers, ring), KiB. */
  readonly handlerRssKb = new Map<number, number>();

  get(workers: number): Promise<FaultHandler> {
    let handler = this.#handlers.get(workers);
    if (handler === undefined) {
      handler = this.#start(workers);
      this.#handlers.set(workers, handler);
    }
    return handler;
  }

  async #start(workers: number): Promise<FaultHandler> {
    const before = process.memoryUsage.rss();
    const handler = await FaultHandler.create({ ...this.tuning, workers } as FaultHandlerOptions);
    // Warm the workers' resolver code and the reader before anything is timed.
    const region = await handler.map({ size: 1 << 20, resolver: resolvers.zero(), name: 'bench-warmup' });
    await testing.touchPages(region.address, region.size, { threads: 1, latencies: false });
    await releaseRegion(region);
    this.handlerRssKb.set(workers, Math.round((process.memoryUsage.rss() - before) / 1024));
    return handler;
  }

  async closeAll(): Promise<void> {
    const all = [...this.#handlers.values()];
    this.#handlers.clear();
    for (const h of await Promise.allSettled(all)) if (h.status === 'fulfilled') await h.value.close();
  }
}
