/**
 * Built-in resolver specs. Each returns a ResolverSpec: the module the workers
 * load plus its (structured-cloneable) options.
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { invalidArgument } from '../errors.js';
import type { ResolverSpec } from '../resolver.js';
import native from '@faultline/native';
import { checkOptions, describeValue, optionNames } from '../validate.js';
import type { FileOptions } from './file.js';
import { httpRangeConfig, type HttpRangeOptions } from './http-range-options.js';
import type { PageCacheOptions } from './page-cache.js';
import type { PatternOptions } from './pattern.js';
import type { SnapshotOptions } from './snapshot.js';

const BUILTINS = ['zero', 'pattern', 'file', 'snapshot', 'page-cache', 'http-range'] as const;
export type BuiltinName = (typeof BUILTINS)[number];

function builtin(name: BuiltinName): string {
  return new URL(`./${name}.js`, import.meta.url).href;
}

/** Which built-in resolver `spec` loads, or null for any other module. */
export function builtinName(spec: ResolverSpec): BuiltinName | null {
  return BUILTINS.find((name) => spec.module === builtin(name)) ?? null;
}

/** The options of file() and snapshot() (the path is their first argument). */
export interface FileResolverOptions {
  /** File offset of the region's first byte: a non-negative multiple of the page size (checked at map()/adopt()). Default 0. */
  offset?: number;
}

const FILE_RESOLVER_OPTION_KEYS = optionNames<FileResolverOptions>()('offset');
/** file() also takes `writable`: write() stores pages back (eviction writeback). */
const WRITABLE_FILE_OPTION_KEYS = optionNames<FileResolverOptions & { writable?: boolean }>()('offset', 'writable');
const PATTERN_OPTION_KEYS = optionNames<PatternOptions>()('seed');
const PAGE_CACHE_OPTION_KEYS = optionNames<PageCacheOptions>()('missing');

function checkPath(what: string, path: unknown): string {
  if (typeof path !== 'string' || path === '') throw invalidArgument(`${what} needs a file path (a non-empty string), got ${describeValue(path)}`);
  return path;
}

/** Every page reads as zero. */
export function zero(): ResolverSpec<Record<string, never>> {
  return { module: builtin('zero'), options: {} };
}

/** Deterministic content: byte at offset o is patternByte(seed, o). */
export function pattern(options: PatternOptions = {}): ResolverSpec<PatternOptions> {
  checkOptions('resolvers.pattern()', options, PATTERN_OPTION_KEYS);
  return { module: builtin('pattern'), options: { seed: options.seed ?? 0 } };
}

/**
 * The page cache holds the data: minor faults are answered 'continue'
 * (UFFDIO_CONTINUE maps the page already there, no copy). For memory shared
 * with whoever fills it: map({ backing: 'memfd', minor: true }) filled
 * through region.memfd, or an adopted range the peer registered MINOR.
 * `missing`: what a page in no page cache gets (a missing fault): 'zero'
 * (default: what it would read without Faultline) or 'poison' (SIGBUS, for
 * memory that must all have been provided). docs/memory.md.
 */
export function pageCache(options: PageCacheOptions = {}): ResolverSpec<PageCacheOptions> {
  checkOptions('resolvers.pageCache()', options, PAGE_CACHE_OPTION_KEYS);
  const missing = options.missing ?? 'zero';
  if (missing !== 'zero' && missing !== 'poison') {
    throw invalidArgument(`resolvers.pageCache() missing must be 'zero' or 'poison', got ${describeValue(missing)}`);
  }
  return { module: builtin('page-cache'), options: { missing } };
}

/**
 * Pages read from `path` with pread; `offset` is the file offset of the
 * region's first byte. Bytes past the end of the file read as zero. The path
 * and offset are checked at map()/adopt() (a regular file, an aligned offset).
 */
export function file(path: string, options: FileResolverOptions & { writable?: boolean } = {}): ResolverSpec<FileOptions> {
  checkPath('resolvers.file()', path);
  checkOptions('resolvers.file()', options, WRITABLE_FILE_OPTION_KEYS);
  if (options.writable !== undefined && typeof options.writable !== 'boolean') {
    throw invalidArgument(`resolvers.file() writable must be a boolean, got ${describeValue(options.writable)}`);
  }
  return { module: builtin('file'), options: { path, offset: options.offset ?? 0, ...(options.writable ? { writable: true } : {}) } };
}

/** Pages from a memory snapshot file, mapped and installed without a copy through JS. As file() otherwise. */
export function snapshot(path: string, options: FileResolverOptions = {}): ResolverSpec<SnapshotOptions> {
  checkPath('resolvers.snapshot()', path);
  checkOptions('resolvers.snapshot()', options, FILE_RESOLVER_OPTION_KEYS);
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

/**
 * Your own resolver module with its options: a URL (file:, data:), a path
 * (absolute, or relative to process.cwd() when it starts with ./ or ../), or
 * a bare package specifier. The module is loaded in every worker, which is
 * why a relative path is made absolute here, against the caller's directory.
 */
export function custom<Options>(module: string | URL, options: Options): ResolverSpec<Options> {
  return { module: moduleHref(module), options };
}

function moduleHref(module: string | URL): string {
  if (module instanceof URL) return module.href;
  if (typeof module !== 'string' || module === '') {
    throw invalidArgument(`resolvers.custom() needs a module URL or path, got ${describeValue(module)}`);
  }
  if (isAbsolute(module)) return pathToFileURL(module).href;
  if (/^\.\.?(\/|$)/.test(module)) return pathToFileURL(resolve(process.cwd(), module)).href;
  return module; // a URL or a bare specifier
}
