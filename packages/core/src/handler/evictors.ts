/**
 * The evicting regions' evictors, one per region mapped with `maxResident`.
 * Where the native layer can do the writeback itself (resolvers.file with
 * writable: true, or no writeback at all) the evictor is a native thread
 * (native-evictor.ts: no JS per run of pages); a custom resolver's write()
 * runs in a JS thread (js-evictor.ts). Both keep the same policy
 * (docs/memory.md "Eviction with writeback") and are stopped before their
 * region is unregistered.
 */
import native from '@faultline/native';
import type { FaultlineError } from '../errors.js';
import type { EvictorJob } from '../worker/evictor-thread.js';
import { createEvictionMarker } from '../shared/eviction-marker.js';
import { startJsEvictor } from './js-evictor.js';
import { nativeStore, startNativeEvictor } from './native-evictor.js';
import type { ResolverSpec } from '../resolver.js';
import { NATIVE_MISSING_RESOLVERS, nativeServesMissing } from './native-resolvers.js';

/** What an evicting region did so far. */
export interface EvictionStats {
  /** Pages taken out of memory. */
  evicted: number;
  /** Of those, pages whose bytes differed from the store and were written back. */
  writtenBack: number;
  /** Times the resident set went over maxResident and was brought down. */
  passes: number;
  /** Most pages seen resident at one of the evictor's looks (faults between looks can add a few). */
  maxResidentSeen: number;
  /** Which evictor runs: 'native' (a file store or no writeback) or 'js' (a resolver's write() in a JS thread). */
  evictor: 'native' | 'js';
}

/** An evictor's job without what the evictor modules fill in themselves. */
export type EvictorRequest = Omit<EvictorJob, 'controlSab' | 'countersSab' | 'statsSab' | 'staging' | 'stagingBuffer' | 'runPages' | 'intervalMs'>;

/** A started evictor, native or JS. */
export interface RunningEvictor {
  readonly kind: 'native' | 'js';
  stats(): Omit<EvictionStats, 'evictor'>;
  /** Evicts (and writes back) every resident page; resolves when done. */
  flush(): Promise<void>;
  /** Ends it after the run in progress (no page is left half evicted) and releases what it holds. */
  stop(): Promise<void>;
}

/**
 * Why an evicting region cannot have `readahead` > 1, or null when it can:
 * its windows must exclude the evictor's moves (native
 * src/evict/eviction_marker.h), which only the native fast path and the
 * native evictor do, so both must run the region.
 */
export function evictingReadaheadRefusal(spec: ResolverSpec, writeback: boolean, nativePath: boolean): string | null {
  if (!nativePath) return 'readahead with maxResident needs the native fast path (nativeResolvers: true, the default); use readahead: 1';
  if (!nativeServesMissing(spec)) {
    return `readahead with maxResident needs a built-in resolver the native fast path serves (${NATIVE_MISSING_RESOLVERS.join(', ')}); use readahead: 1 with this one`;
  }
  if (nativeStore(spec, writeback) === null) {
    return 'readahead with maxResident needs the native evictor: writeback to resolvers.file(path, { writable: true }), or no writeback; use readahead: 1 otherwise';
  }
  return null;
}

export class Evictors {
  private readonly running = new Map<number, RunningEvictor>();

  constructor(
    private readonly statsSab: SharedArrayBuffer,
    /** Problems after start (a failed writeback, a dead evictor): the handler's 'error' event. */
    private readonly onError: (err: FaultlineError) => void,
    /** False (nativeResolvers: false): every evictor runs in JS. */
    private readonly nativeAllowed: boolean,
  ) {}

  /**
   * A marker for a region about to be mapped with maxResident (the workers get
   * its buffer with the resolver; the native fast path reads it at `address`,
   * which is why it lives in a mapping of its own rather than a plain SharedArrayBuffer).
   */
  static marker(maxPages: number): native.Mapping {
    // The hard cap: past it faults wait for the evictor.
    const mapping = native.mapAnonymous(native.pageSize());
    createEvictionMarker(maxPages + Math.max(16, Math.floor(maxPages / 8)), mapping.buffer);
    return mapping;
  }

  /** Starts the region's evictor; rejects (and leaves nothing behind) if it cannot start. */
  async start(req: EvictorRequest): Promise<void> {
    const store = this.nativeAllowed ? nativeStore(req.resolver.spec, req.writeback) : null;
    const running = store !== null
      ? startNativeEvictor(req, store, this.statsSab, this.onError)
      : await startJsEvictor(req, this.statsSab, this.onError);
    this.running.set(req.regionId, running);
  }

  stats(regionId: number): EvictionStats | null {
    const r = this.running.get(regionId);
    return r ? { ...r.stats(), evictor: r.kind } : null;
  }

  flush(regionId: number): Promise<void> {
    return this.running.get(regionId)?.flush() ?? Promise.resolve();
  }

  async stop(regionId: number): Promise<void> {
    const r = this.running.get(regionId);
    if (!r) return;
    this.running.delete(regionId);
    await r.stop();
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.running.keys()].map((id) => this.stop(id)));
  }
}
