/**
 * The built-in resolvers the native waiter can run itself (its fast path,
 * native serve/native_path.h): what the region table must say for it, and the
 * process-wide resources that takes (a file opened once, a snapshot mapped
 * once: fds and mappings are shared by every thread). The JS resolver is
 * loaded in the workers all the same and serves whatever the native path
 * hands back (errors, a page past the end of a snapshot).
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import native from '@faultline/native';
import type { ResolverSpec } from '../resolver.js';
import type { FileOptions } from '../resolvers/file.js';
import { builtinName } from '../resolvers/index.js';
import type { PageCacheOptions } from '../resolvers/page-cache.js';
import type { PatternOptions } from '../resolvers/pattern.js';
import type { SnapshotOptions } from '../resolvers/snapshot.js';
import {
  NATIVE_FILE,
  NATIVE_PAGE_CACHE,
  NATIVE_PATTERN,
  NATIVE_SNAPSHOT,
  NATIVE_ZERO,
  type NativeResolver,
} from '../shared/region-table.js';

export interface PreparedNative {
  native: NativeResolver;
  /** Releases the fd or mapping; call once no fault can use it any more. */
  release(): void;
}

const nothingToRelease = (): void => undefined;

/** The built-ins whose missing faults the native path serves itself: prepareNative()'s cases but page-cache (minor faults only). */
export const NATIVE_MISSING_RESOLVERS: readonly string[] = ['zero', 'pattern', 'file', 'snapshot'];

/** True when the native fast path serves `spec`'s missing faults itself (no fd opened: a question, not a preparation). */
export function nativeServesMissing(spec: ResolverSpec): boolean {
  return NATIVE_MISSING_RESOLVERS.includes(builtinName(spec) ?? '');
}

/**
 * The native form of `spec`, or null when the waiter cannot run it (a custom
 * resolver). Opening or mapping may throw the usual errno errors.
 */
export function prepareNative(spec: ResolverSpec): PreparedNative | null {
  switch (builtinName(spec)) {
    case 'zero':
      return { native: { kind: NATIVE_ZERO, arg: 0, base: 0, size: 0 }, release: nothingToRelease };
    case 'page-cache': {
      // arg 1: missing faults poison, which the JS resolver does (the failure path's rules and reports).
      const poison = (spec.options as PageCacheOptions).missing === 'poison' ? 1 : 0;
      return { native: { kind: NATIVE_PAGE_CACHE, arg: poison, base: 0, size: 0 }, release: nothingToRelease };
    }
    case 'pattern': {
      const seed = ((spec.options as PatternOptions).seed ?? 0) >>> 0;
      return { native: { kind: NATIVE_PATTERN, arg: seed, base: 0, size: 0 }, release: nothingToRelease };
    }
    case 'file': {
      const o = spec.options as FileOptions;
      const fd = openSync(o.path, 'r');
      return {
        native: { kind: NATIVE_FILE, arg: fd, base: o.offset ?? 0, size: 0 },
        release: () => closeSync(fd),
      };
    }
    case 'snapshot': {
      const o = spec.options as SnapshotOptions;
      const fd = openSync(o.path, 'r');
      try {
        const size = fstatSync(fd).size;
        if (size === 0) return null; // nothing to map: the JS resolver zero-fills
        const mapping = native.mapFd(fd, size, 0, { private: true, readOnly: true });
        // The mapping stays alive as long as `mapping` is referenced: release() lets it go.
        let held: unknown = mapping;
        return {
          native: { kind: NATIVE_SNAPSHOT, arg: mapping.address, base: o.offset ?? 0, size },
          release: () => {
            held = undefined;
            return held;
          },
        };
      } finally {
        closeSync(fd);
      }
    }
    default:
      return null;
  }
}
