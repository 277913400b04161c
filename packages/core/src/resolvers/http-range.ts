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
 *
 * A prefetch (request.bulk, see `bulk` below) is served differently: its
 * span is fetched in pieces of up to `prefetchChunk` bytes, all at once (bounded by
 * `concurrency`), each body written straight into `out` as it arrives,
 * bypassing the cache (those bytes are installed once and not asked for
 * again). A failed piece fails the whole request, which installs nothing.
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

  /** Records the object's size from an answer; throws if it differs from what an earlier answer said. */
  function learnSize(c: FetchedRange): void {
    if (c.objectSize !== undefined && objectSize !== undefined && c.objectSize !== objectSize) {
      // Bytes of two different objects must never be mixed in one memory image.
      throw new FaultlineError(
        'ERR_FAULTLINE_HTTP_RANGE',
        `${redactedUrl(cfg.url)} changed size from ${objectSize} to ${c.objectSize} bytes while it was being served: ` +
          'the object was replaced; serve an immutable object (a versioned key)',
      );
    }
    if (c.objectSize !== undefined) objectSize = c.objectSize;
  }

  /** Chunk `index`: from the cache, the request already in flight, or a new request. */
  function chunk(index: number): FetchedRange | Promise<FetchedRange> {
    const cached = cache.get(index);
    if (cached) return cached;
    let pending = inflight.get(index);
    if (!pending) {
      pending = fetcher.fetch(index * size, size).then(
        (c) => {
          inflight.delete(index);
          learnSize(c);
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

  /** What to install of `out` once its first `valid` bytes are the object's: all, or up to the end (zero-padded). */
  function ending(request: ResolveRequest, start: number, out: Uint8Array): ResolveResult {
    // Only a range that reaches the object's end comes back short, and its answer said the size.
    const valid = objectSize === undefined ? request.length : Math.min(request.length, Math.max(0, objectSize - start));
    if (valid === request.length) return undefined;
    checkStart(start, request);
    const ps = request.pageSize;
    const filled = Math.ceil(valid / ps) * ps; // the page the end cuts through, zero-padded
    out.fill(0, valid, filled);
    return { filled };
  }

  /**
   * A prefetch's span: pieces of up to `prefetchChunk` bytes straight into `out`, no
   * cache. With the end unknown the first piece goes alone (it tells the
   * end); pieces wholly past a known end are not asked for.
   */
  async function bulk(request: ResolveRequest, start: number, out: Uint8Array): Promise<ResolveResult> {
    const end = start + request.length;
    const size = cfg.prefetchChunk;
    const piece = (at: number): Promise<void> => {
      const length = Math.min(size, end - at);
      return fetcher.fetch(at, length, out.subarray(at - start, at - start + length)).then(learnSize);
    };
    let at = start;
    if (objectSize === undefined) {
      await piece(at);
      at += size;
    }
    const rest: Promise<void>[] = [];
    for (; at < Math.min(end, objectSize ?? end); at += size) rest.push(piece(at));
    // Every piece settled before answering, failed or not: none may still be writing into `out`
    // once the caller has it back (a prefetch reuses it for its next span).
    const settled = await Promise.allSettled(rest);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return ending(request, start, out);
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
    return ending(request, start, out);
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
      if (request.bulk === true) return bulk(request, start, out);
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
    // A request costs a round trip and about as much CPU as prefetchGap bytes of body: prefetch in spans.
    bulk: { gapBytes: cfg.prefetchGap },
  };
}
