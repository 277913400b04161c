/**
 * Resolver module: pages of an object served over HTTP Range requests (S3 and
 * its compatibles through presigned URLs, a CDN, nginx...).
 *
 * The object is cut into chunks of `chunk` bytes, aligned in the object
 * (chunk i is bytes [i * chunk, (i + 1) * chunk)); a fault fetches the chunks
 * its pages lie in, one Range GET each (http-chunk-fetcher.ts). Recent chunks
 * are kept (LRU), and a chunk already being fetched is awaited rather than
 * asked for again, so concurrent faults in one chunk cost one request.
 *
 * The object's end: its size is learned from Content-Range. A request whose
 * first page lies entirely past the end fails (ERR_FAULTLINE_HTTP_RANGE): the
 * region is larger than the object, and nobody produced those bytes. A page
 * the end cuts through is zero-padded; readahead pages past the end are not
 * installed (they fail the same way if touched).
 *
 * `out` is written only once every chunk a request needs has arrived whole:
 * a failure leaves nothing half-filled to install.
 */
import type { PageResolver, ResolveRequest, ResolveResult, ResolverInfo } from '../resolver.js';
import { FaultlineError } from '../errors.js';
import { ChunkFetcher, type FetchedRange } from './http-chunk-fetcher.js';
import { httpRangeConfig, redactedUrl, type HttpRangeOptions } from './http-range-options.js';

export type { HttpRangeOptions } from './http-range-options.js';

/** Least-recently-used chunks by index (a Map keeps insertion order: re-inserting on a hit moves it last). */
class ChunkCache {
  private readonly chunks = new Map<number, FetchedRange>();
  constructor(private readonly capacity: number) {}
  get(index: number): FetchedRange | undefined {
    const c = this.chunks.get(index);
    if (c) {
      this.chunks.delete(index);
      this.chunks.set(index, c);
    }
    return c;
  }
  set(index: number, c: FetchedRange): void {
    if (this.capacity === 0) return;
    this.chunks.delete(index);
    this.chunks.set(index, c);
    if (this.chunks.size > this.capacity) this.chunks.delete(this.chunks.keys().next().value as number);
  }
}

export default function createHttpRangeResolver(options: HttpRangeOptions, info: ResolverInfo): PageResolver {
  const cfg = httpRangeConfig(options, info.pageSize);
  const size = cfg.chunk;
  const fetcher = new ChunkFetcher(cfg);
  const cache = new ChunkCache(cfg.cacheChunks);
  const inflight = new Map<number, Promise<FetchedRange>>();
  /** The object's size once a Content-Range told it. */
  let objectSize: number | undefined;

  /** Chunk `index`: from the cache, the request already in flight, or a new request. */
  function chunk(index: number): FetchedRange | Promise<FetchedRange> {
    const cached = cache.get(index);
    if (cached) return cached;
    let pending = inflight.get(index);
    if (!pending) {
      pending = fetcher.fetch(index * size, size).then(
        (c) => {
          inflight.delete(index);
          if (c.objectSize !== undefined && objectSize !== undefined && c.objectSize !== objectSize) {
            // Bytes of two different objects must never be mixed in one memory image.
            throw new FaultlineError(
              'ERR_FAULTLINE_HTTP_RANGE',
              `${redactedUrl(cfg.url)} changed size from ${objectSize} to ${c.objectSize} bytes while it was being served: ` +
                'the object was replaced; serve an immutable object (a versioned key)',
            );
          }
          if (c.objectSize !== undefined) objectSize = c.objectSize;
          cache.set(index, c);
          return c;
        },
        (err: unknown) => {
          inflight.delete(index); // the next fault asks again
          throw err;
        },
      );
      inflight.set(index, pending);
    }
    return pending;
  }

  /** Fails when the request's first page lies entirely past the object's end. */
  function checkStart(start: number, request: ResolveRequest): void {
    if (objectSize !== undefined && start >= objectSize) {
      throw new FaultlineError(
        'ERR_FAULTLINE_HTTP_RANGE',
        `page at resolver offset ${request.offset} is byte ${start} of ${redactedUrl(cfg.url)}, past the end of the object ` +
          `(${objectSize} bytes): the region is larger than the object, or its offset is wrong`,
      );
    }
  }

  /**
   * Copies bytes [start, start + request.length) from `chunks` into `out`;
   * bytes past the object's end stay zero. Returns what to install.
   */
  function fill(request: ResolveRequest, start: number, chunks: FetchedRange[], out: Uint8Array): ResolveResult {
    const end = start + request.length;
    for (const c of chunks) {
      const from = Math.max(start, c.start);
      const to = Math.min(end, c.start + c.bytes.length);
      if (to > from) out.set(c.bytes.subarray(from - c.start, to - c.start), from - start);
    }
    // Only a chunk that reaches the object's end comes back short, and its answer said the size.
    const valid = objectSize === undefined ? request.length : Math.min(request.length, Math.max(0, objectSize - start));
    if (valid === request.length) return undefined;
    checkStart(start, request);
    const ps = request.pageSize;
    const filled = Math.ceil(valid / ps) * ps; // the page the end cuts through, zero-padded
    out.fill(0, valid, filled);
    return { filled };
  }

  /** The last chunk a request for [start, start + length) needs: none wholly past a known end. */
  function lastChunk(start: number, length: number): number {
    const last = Math.floor((start + length - 1) / size);
    if (objectSize === undefined) return last;
    return Math.min(last, Math.max(Math.floor(start / size), Math.floor((objectSize - 1) / size)));
  }

  return {
    resolve(request: ResolveRequest, out: Uint8Array): ResolveResult | Promise<ResolveResult> {
      const start = cfg.offset + request.offset;
      checkStart(start, request);
      const first = Math.floor(start / size);
      if (objectSize === undefined && lastChunk(start, request.length) > first) {
        // The end is unknown and readahead spans chunks: learn the end from the
        // first chunk before asking for the rest, which may lie past it.
        return (async () => {
          const head = await chunk(first);
          const rest: (FetchedRange | Promise<FetchedRange>)[] = [];
          for (let i = first + 1; i <= lastChunk(start, request.length); i++) rest.push(chunk(i));
          return fill(request, start, [head, ...(await Promise.all(rest))], out);
        })();
      }
      const got: (FetchedRange | Promise<FetchedRange>)[] = [];
      let sync = true;
      for (let i = first; i <= lastChunk(start, request.length); i++) {
        const c = chunk(i);
        got.push(c);
        if (c instanceof Promise) sync = false;
      }
      // Every chunk cached: answer synchronously (no promise, no trip through the event loop).
      if (sync) return fill(request, start, got as FetchedRange[], out);
      return Promise.all(got).then((chunks) => fill(request, start, chunks, out));
    },
    close() {
      return fetcher.close();
    },
  };
}
