/**
 * The resolvers a worker has loaded, by region id. Loading happens when the
 * main thread maps a region (before the region is registered, so no fault can
 * find its resolver missing).
 */
import { pathToFileURL } from 'node:url';
import { isAbsolute } from 'node:path';
import { FaultlineError } from '../errors.js';
import type { PageResolver, ResolverFactory, ResolverInfo, ResolverSpec } from '../resolver.js';

/** Used only if a region was loaded without one (map() always passes its own). */
const DEFAULT_RESOLVE_TIMEOUT_MS = 5000;

export class ResolverRegistry {
  private readonly byRegion: (PageResolver | undefined)[] = [];
  private readonly names: string[] = [];
  private readonly timeouts: number[] = [];
  private readonly retries: number[] = [];
  private readonly evictions: (Int32Array | undefined)[] = [];
  private readonly dirtyBitmaps: (Int32Array | undefined)[] = [];

  get(regionId: number): PageResolver | undefined {
    return this.byRegion[regionId];
  }

  /** The region's name as map()/adopt() gave it ('' when none is loaded). */
  nameOf(regionId: number): string {
    return this.names[regionId] ?? '';
  }

  /** How many more times the region's resolver is called after a failure (onError { retry }). */
  retriesOf(regionId: number): number {
    return this.retries[regionId] ?? 0;
  }

  /** The region's eviction marker ([0] a run is out, [1] its first page, [2] its end), if it evicts. */
  evictionOf(regionId: number): Int32Array | undefined {
    return this.evictions[regionId];
  }

  setEviction(regionId: number, sab: SharedArrayBuffer | undefined): void {
    this.evictions[regionId] = sab ? new Int32Array(sab) : undefined;
  }

  /** The region's dirty bitmap, if it tracks writes with synchronous WP faults (trackWrites 'sync'). */
  dirtyBitmapOf(regionId: number): Int32Array | undefined {
    return this.dirtyBitmaps[regionId];
  }

  setDirtyBitmap(regionId: number, sab: SharedArrayBuffer | undefined): void {
    this.dirtyBitmaps[regionId] = sab ? new Int32Array(sab) : undefined;
  }

  /** How long the region's resolver may take for one fault, ms. */
  timeoutOf(regionId: number): number {
    return this.timeouts[regionId] ?? DEFAULT_RESOLVE_TIMEOUT_MS;
  }

  async load(regionId: number, spec: ResolverSpec, info: ResolverInfo, limits: { resolveTimeoutMs: number; retries: number }): Promise<void> {
    const href = isAbsolute(spec.module) ? pathToFileURL(spec.module).href : spec.module;
    let mod: { default?: unknown; createResolver?: unknown };
    try {
      mod = (await import(href)) as typeof mod;
    } catch (err) {
      throw new FaultlineError(
        'ERR_FAULTLINE_RESOLVER_LOAD',
        `cannot load resolver module ${spec.module}: ${(err as Error).message}. ` +
          'Pass a file: URL or absolute path of an ES module whose default export creates the resolver.',
        { cause: err },
      );
    }
    const factory = (mod.default ?? mod.createResolver) as ResolverFactory | undefined;
    if (typeof factory !== 'function') {
      throw new FaultlineError(
        'ERR_FAULTLINE_RESOLVER_LOAD',
        `resolver module ${spec.module} has no default export function (options, info) => resolver`,
      );
    }
    let resolver: PageResolver;
    try {
      resolver = await factory(spec.options, info);
    } catch (err) {
      throw new FaultlineError(
        'ERR_FAULTLINE_RESOLVER_LOAD',
        `resolver module ${spec.module} failed to start: ${(err as Error).message}`,
        { cause: err },
      );
    }
    if (!resolver || typeof resolver.resolve !== 'function') {
      throw new FaultlineError(
        'ERR_FAULTLINE_RESOLVER_LOAD',
        `resolver module ${spec.module}: the factory must return an object with a resolve(request, out) method`,
      );
    }
    this.byRegion[regionId] = resolver;
    this.names[regionId] = info.name;
    this.timeouts[regionId] = limits.resolveTimeoutMs;
    this.retries[regionId] = limits.retries;
  }

  async drop(regionId: number): Promise<void> {
    const r = this.byRegion[regionId];
    this.byRegion[regionId] = undefined;
    this.evictions[regionId] = undefined;
    this.dirtyBitmaps[regionId] = undefined;
    await r?.close?.();
  }

  async dropAll(): Promise<void> {
    for (let id = 0; id < this.byRegion.length; id++) {
      try {
        await this.drop(id);
      } catch {
        // closing is best effort at shutdown; the region is gone either way
      }
    }
  }
}
