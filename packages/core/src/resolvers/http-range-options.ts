/**
 * resolvers.httpRange's options: types, defaults and validation, in one place.
 * The spec function checks them on the main thread (so map() fails early with
 * a clear error); the worker checks them again against the region's page size
 * (a huge-page region needs chunks of whole huge pages).
 */
import { FaultlineError, invalidArgument } from '../errors.js';

export interface HttpRangeOptions {
  /** http: or https: URL of the object (a presigned URL carries its own signature). */
  url: string;
  /** Byte offset in the object of resolver offset 0. Default 0. */
  offset?: number;
  /** Bytes per Range request; a multiple of the page size. Default 256 KiB. */
  chunk?: number;
  /** Requests in flight at once, per region and worker. Default 8. */
  concurrency?: number;
  /** Chunks kept per region and worker (least recently used go first); 0: none. Default 64. */
  cacheChunks?: number;
  /** More attempts after a network error, a timeout, a 5xx or a 429. Default 3. */
  retries?: number;
  /** Longest one attempt may take (headers and body), ms. Default 1000. */
  timeoutMs?: number;
  /** Wait before the first retry, ms; doubled before each next one. Default 50. */
  backoffMs?: number;
  /** Sent with every request (e.g. authorization). Range is Faultline's own. */
  headers?: Record<string, string>;
  /**
   * A prefetch (map/adopt `prefetch` without page data) asks for the working
   * set's pages by address, in requests of up to `prefetchChunk` bytes; a gap of at
   * most this many bytes between two of its pages is fetched along rather
   * than starting another request. 0: only the working set's own bytes.
   * Default 128 KiB (on loopback a request costs about as much CPU as that
   * much body; over a real network a round trip costs more).
   */
  prefetchGap?: number;
  /**
   * Bytes per Range request of a prefetch; a multiple of the page size.
   * Independent of `chunk`, which sizes the requests of faults: a restore
   * can fault single pages (chunk = page size) and still prefetch in large
   * requests. Default 256 KiB.
   */
  prefetchChunk?: number;
}

export type HttpRangeConfig = Required<HttpRangeOptions>;

export const HTTP_RANGE_DEFAULTS = {
  offset: 0,
  chunk: 256 * 1024,
  concurrency: 8,
  cacheChunks: 64,
  retries: 3,
  timeoutMs: 1000,
  backoffMs: 50,
  prefetchGap: 128 * 1024,
  prefetchChunk: 256 * 1024,
} as const;

const MAX_CHUNK = 64 * 1024 * 1024;

/** `options` with its defaults applied, checked; chunk must be a multiple of `pageSize`. */
export function httpRangeConfig(options: HttpRangeOptions, pageSize: number): HttpRangeConfig {
  if (typeof options !== 'object' || options === null) {
    throw invalidArgument('resolvers.httpRange(url, options): options must be an object');
  }
  const url = checkUrl(options.url);
  const chunk = checkChunk('chunk', options.chunk ?? HTTP_RANGE_DEFAULTS.chunk, pageSize);
  const prefetchChunk = checkChunk('prefetchChunk', options.prefetchChunk ?? HTTP_RANGE_DEFAULTS.prefetchChunk, pageSize);
  return {
    url,
    offset: int('offset', options.offset ?? HTTP_RANGE_DEFAULTS.offset, 0, Number.MAX_SAFE_INTEGER),
    chunk,
    concurrency: int('concurrency', options.concurrency ?? HTTP_RANGE_DEFAULTS.concurrency, 1, 1024),
    cacheChunks: int('cacheChunks', options.cacheChunks ?? HTTP_RANGE_DEFAULTS.cacheChunks, 0, 1 << 20),
    retries: int('retries', options.retries ?? HTTP_RANGE_DEFAULTS.retries, 0, 100),
    timeoutMs: int('timeoutMs', options.timeoutMs ?? HTTP_RANGE_DEFAULTS.timeoutMs, 1, 24 * 3600 * 1000),
    backoffMs: int('backoffMs', options.backoffMs ?? HTTP_RANGE_DEFAULTS.backoffMs, 0, 3600 * 1000),
    headers: checkHeaders(options.headers ?? {}),
    prefetchGap: int('prefetchGap', options.prefetchGap ?? HTTP_RANGE_DEFAULTS.prefetchGap, 0, Number.MAX_SAFE_INTEGER),
    prefetchChunk,
  };
}

/** A request size: whole pages, at most MAX_CHUNK. */
function checkChunk(name: string, chunk: unknown, pageSize: number): number {
  if (typeof chunk !== 'number' || !Number.isSafeInteger(chunk) || chunk <= 0 || chunk % pageSize !== 0 || chunk > MAX_CHUNK) {
    throw new FaultlineError(
      'ERR_FAULTLINE_INVALID_SIZE',
      `httpRange ${name} must be a positive multiple of the page size (${pageSize} bytes) up to ${MAX_CHUNK}, got ${String(chunk)}; ` +
        `use ${Math.max(pageSize, Math.ceil((typeof chunk === 'number' && chunk > 0 ? chunk : pageSize) / pageSize) * pageSize)}`,
    );
  }
  return chunk;
}

function int(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw invalidArgument(`httpRange ${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function checkUrl(value: unknown): string {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw invalidArgument(`httpRange url must be an absolute http: or https: URL, got ${JSON.stringify(value)}`);
  }
  if (typeof value !== 'string' || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw invalidArgument(`httpRange url must be an http: or https: URL, got ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw invalidArgument('httpRange url must not carry user:password; pass headers: { authorization: ... } instead');
  }
  return url.href;
}

function checkHeaders(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArgument('httpRange headers must be an object of header name -> string value');
  }
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw invalidArgument(`httpRange header '${name}' must be a string, got ${typeof v}`);
    if (name.toLowerCase() === 'range') {
      throw invalidArgument("httpRange headers must not set 'range': every request asks for its own chunk");
    }
    out[name] = v;
  }
  return out;
}

/** The URL without its query (a presigned URL's query is a credential: it stays out of messages and logs). */
export function redactedUrl(href: string): string {
  const url = new URL(href);
  return `${url.origin}${url.pathname}${url.search ? '?…' : ''}`;
}
