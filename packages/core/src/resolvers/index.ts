/**
 * Built-in resolver specs. Each returns a ResolverSpec: the module the workers
 * load plus its (structured-cloneable) options.
 */
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ResolverSpec } from '../resolver.js';
import native from '@faultline/native';
import type { FileOptions } from './file.js';
import { httpRangeConfig, type HttpRangeOptions } from './http-range-options.js';
import type { PatternOptions } from './pattern.js';
import type { SnapshotOptions } from './snapshot.js';

const BUILTINS = ['zero', 'pattern', 'file', 'snapshot', 'http-range'] as const;
export type BuiltinName = (typeof BUILTINS)[number];

function builtin(name: BuiltinName): string {
  return new URL(`./${name}.js`, import.meta.url).href;
}

/** Which built-in resolver `spec` loads, or null for any other module. */
export function builtinName(spec: ResolverSpec): BuiltinName | null {
  return BUILTINS.find((name) => spec.module === builtin(name)) ?? null;
}

/** Every page reads as zero. */
export function zero(): ResolverSpec<Record<string, never>> {
  return { module: builtin('zero'), options: {} };
}

/** Deterministic content: byte at offset o is patternByte(seed, o). */
export function pattern(options: PatternOptions = {}): ResolverSpec<PatternOptions> {
  return { module: builtin('pattern'), options: { seed: options.seed ?? 0 } };
}

/** Pages read from `path` with pread; `offset` is the file offset of the region's first byte. */
export function file(path: string, options: { offset?: number } = {}): ResolverSpec<FileOptions> {
  return { module: builtin('file'), options: { path, offset: options.offset ?? 0 } };
}

/** Pages from a memory snapshot file, mapped and installed without a copy through JS. */
export function snapshot(path: string, options: { offset?: number } = {}): ResolverSpec<SnapshotOptions> {
  return { module: builtin('snapshot'), options: { path, offset: options.offset ?? 0 } };
}

/**
 * Pages of an object served over HTTP(S) Range requests: one GET per `chunk`
 * bytes (default 256 KiB), recent chunks cached, concurrent misses of a chunk
 * sharing one request, retries with backoff (see docs/resolvers.md).
 * `offset` is the byte of the object at the region's first byte. Options are
 * checked here: a bad one throws ERR_FAULTLINE_INVALID_ARGUMENT (or
 * ERR_FAULTLINE_INVALID_SIZE for a chunk that is not whole pages).
 */
export function httpRange(url: string | URL, options: Omit<HttpRangeOptions, 'url'> = {}): ResolverSpec<HttpRangeOptions> {
  const href = url instanceof URL ? url.href : url;
  return { module: builtin('http-range'), options: httpRangeConfig({ ...options, url: href }, native.pageSize()) };
}

/** Your own resolver module (a file: URL or an absolute path) with its options. */
export function custom<Options>(module: string | URL, options: Options): ResolverSpec<Options> {
  const href =
    module instanceof URL ? module.href : isAbsolute(module) ? pathToFileURL(module).href : String(module);
  return { module: href, options };
}
