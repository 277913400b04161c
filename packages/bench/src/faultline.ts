// The slice of @faultline/core the bench drives (CORE-API.md), and a pool of
// FaultHandlers keyed by worker count so scenarios share warm handlers
// instead of paying a Piscina start-up per round.
import native from '@faultline/native';

export interface RegionStatsLike {
  faults: number;
  pagesInstalled: number;
  resolverCalls: number;
}
export interface RegionLike {
  buffer: SharedArrayBuffer;
  address: number;
  size: number;
  stats(): RegionStatsLike;
  unmap(): Promise<void>;
}
export interface MapOptionsLike {
  size: number;
  resolver: unknown;
  readahead?: number;
  name?: string;
}
export interface HandlerLike {
  map(options: MapOptionsLike): Promise<RegionLike>;
  close(): Promise<void>;
}
export interface CoreLike {
  FaultHandler: { create(options: { workers: number }): Promise<HandlerLike> };
  resolvers: {
    zero(): unknown;
    pattern(options: { seed: number }): unknown;
    file(path: string, options: { offset: number }): unknown;
  };
}

export async function loadCore(): Promise<CoreLike> {
  try {
    // A variable specifier: the bench must build (and run --baseline-only)
    // before @faultline/core has been built.
    const specifier = '@faultline/core';
    return (await import(specifier)) as CoreLike;
  } catch (cause) {
    const err = new Error(
      `@faultline/core could not be loaded (${(cause as Error).message}): build it with \`npm run build\` ` +
        'at the repository root, or pass --baseline-only to measure the C baseline alone',
      { cause },
    );
    (err as NodeJS.ErrnoException).code = 'ERR_FAULTLINE_BENCH_NO_CORE';
    throw err;
  }
}

export type Content = 'pattern' | 'zero' | 'file';

export function resolverFor(core: CoreLike, content: Content, seed: number, file: string): unknown {
  if (content === 'zero') return core.resolvers.zero();
  if (content === 'pattern') return core.resolvers.pattern({ seed });
  return core.resolvers.file(file, { offset: 0 });
}

/** Unregisters a region and gives its pages back now (its SharedArrayBuffer is freed only by GC). */
export async function releaseRegion(region: RegionLike): Promise<void> {
  await region.unmap();
  native.madvise(region.address, region.size, native.constants.MADV_DONTNEED);
}

export class HandlerPool {
  readonly #core: CoreLike;
  readonly #handlers = new Map<number, Promise<HandlerLike>>();
  /** RSS the process gained when each handler was created and warmed (workers, ring), KiB. */
  readonly handlerRssKb = new Map<number, number>();

  constructor(core: CoreLike) {
    this.#core = core;
  }

  get(workers: number): Promise<HandlerLike> {
    let handler = this.#handlers.get(workers);
    if (handler === undefined) {
      handler = this.#start(workers);
      this.#handlers.set(workers, handler);
    }
    return handler;
  }

  async #start(workers: number): Promise<HandlerLike> {
    const before = process.memoryUsage.rss();
    const handler = await this.#core.FaultHandler.create({ workers });
    // Warm the workers' resolver code and the reader before anything is timed.
    const region = await handler.map({ size: 1 << 20, resolver: this.#core.resolvers.zero(), name: 'bench-warmup' });
    await native.touchPages(region.address, region.size, { threads: 1, latencies: false });
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
