/**
 * One job: fetch byte ranges of one HTTP object, checked, over a keep-alive
 * undici Pool, with a bound on requests in flight, a per-attempt timeout and
 * retries with exponential backoff.
 *
 * An answer is accepted only if it is exactly what was asked: status 206,
 * a Content-Range naming the requested first byte and the requested last byte
 * (or the object's last byte, for the range that reaches past the end), and a
 * body of exactly that many bytes. Anything else is a FaultlineError with a
 * stable code; nothing partial is ever returned.
 *
 * Retried (they may pass on the next attempt): connection errors, a connection
 * dropped mid-body, timeouts, 5xx and 429. Not retried (the same request will
 * get the same answer): other statuses and answers that do not match.
 */
import { Pool, util, type Dispatcher } from 'undici';
import { FaultlineError } from '../errors.js';
import { redactedUrl, type HttpRangeConfig } from './http-range-options.js';

/** Bytes of the object from `start`, and the object's size when the server said it. */
export interface FetchedRange {
  start: number;
  bytes: Uint8Array;
  /** Total size of the object (Content-Range's complete-length), or undefined for '*'. */
  objectSize: number | undefined;
}

class HttpRangeError extends FaultlineError {
  constructor(
    code: 'ERR_FAULTLINE_HTTP_STATUS' | 'ERR_FAULTLINE_HTTP_RANGE' | 'ERR_FAULTLINE_HTTP_NETWORK' | 'ERR_FAULTLINE_HTTP_TIMEOUT',
    message: string,
    /** Another attempt may succeed. */
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** Counting semaphore: at most `limit` holders; the others wait in order. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(limit: number) {
    this.free = limit;
  }
  take(): Promise<void> | undefined {
    if (this.free > 0) {
      this.free--;
      return undefined;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  give(): void {
    const next = this.waiting.shift();
    if (next) next(); // the slot passes straight to the next waiter
    else this.free++;
  }
}

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;

export class ChunkFetcher {
  private readonly pool: Pool;
  private readonly slots: Slots;
  private readonly path: string;
  /** For messages: the URL without its query (a presigned URL's signature). */
  private readonly where: string;
  private closed = false;

  constructor(private readonly cfg: HttpRangeConfig) {
    const url = new URL(cfg.url);
    this.path = `${url.pathname}${url.search}`;
    this.where = redactedUrl(cfg.url);
    // One connection per request slot; undici keeps them alive between requests.
    this.pool = new Pool(url.origin, { connections: cfg.concurrency, pipelining: 1 });
    this.slots = new Slots(cfg.concurrency);
  }

  /**
   * Bytes [start, start + length) of the object; fewer only when the object
   * ends inside the range (then objectSize says where). Throws an HttpRangeError
   * once the attempts are used up or at the first non-retryable failure.
   * With `into` (at least `length` bytes) the body is written straight into
   * it and `bytes` is a view of it: no buffer of its own, no copy. A failed
   * attempt may have written part of it; only a returned range is whole.
   */
  async fetch(start: number, length: number, into?: Uint8Array): Promise<FetchedRange> {
    if (into !== undefined && into.length < length) throw new RangeError(`ChunkFetcher.fetch: into holds ${into.length} bytes, ${length} asked`);
    for (let attempt = 0; ; attempt++) {
      const wait = this.slots.take();
      if (wait) await wait;
      let err: unknown;
      try {
        if (this.closed) throw new FaultlineError('ERR_FAULTLINE_CLOSED', 'the httpRange resolver is closed');
        return await this.once(start, length, into);
      } catch (e) {
        err = e;
      } finally {
        this.slots.give();
      }
      const retryable = err instanceof HttpRangeError && err.retryable;
      if (!retryable || attempt >= this.cfg.retries || this.closed) {
        if (err instanceof HttpRangeError && attempt > 0) err.message += ` (after ${attempt + 1} attempts)`;
        throw err;
      }
      await sleep(this.cfg.backoffMs * 2 ** attempt);
    }
  }

  /** Closes every connection; requests in flight fail. */
  async close(): Promise<void> {
    this.closed = true;
    await this.pool.destroy();
  }

  /**
   * One attempt, through undici's dispatch API: the body's parts land in
   * onData and are copied once, into `into` (or a buffer of the answer's
   * size), with no stream or async iterator per request (on one CPU that
   * machinery cost about as much as the bytes). Once the attempt has settled
   * (answered, refused, timed out) nothing more is written into `into`.
   */
  private once(start: number, length: number, into: Uint8Array | undefined): Promise<FetchedRange> {
    const last = start + length - 1;
    const what = `bytes ${start}-${last} of ${this.where}`;
    return new Promise<FetchedRange>((resolve, reject) => {
      let settled = false;
      let timedOut = false;
      let abort: ((err: Error) => void) | null = null;
      let bytes: Uint8Array | null = null;
      let objectSize: number | undefined;
      let got = 0;
      const failed = (e: unknown): HttpRangeError => {
        const during = bytes === null ? 'before the answer' : 'while reading the body';
        return timedOut
          ? new HttpRangeError('ERR_FAULTLINE_HTTP_TIMEOUT', `GET ${what} took longer than timeoutMs (${this.cfg.timeoutMs} ms) ${during}`, true)
          : e instanceof HttpRangeError
            ? e
            : new HttpRangeError(
                'ERR_FAULTLINE_HTTP_NETWORK',
                `GET ${what} failed ${during}: ${(e as Error).message ?? String(e)}` +
                  ((e as { code?: string }).code ? ` (${(e as { code?: string }).code})` : ''),
                true,
                { cause: e },
              );
      };
      const finish = (err: HttpRangeError | null): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve({ start, bytes: bytes!, objectSize });
      };
      // Refused or timed out mid-answer: aborting drops the connection, so an answer
      // that was not read through is never taken for the next request's.
      const refuse = (err: HttpRangeError | Error): void => {
        finish(failed(err));
        abort?.(err);
      };
      const timer = setTimeout(() => {
        timedOut = true;
        refuse(new Error('timed out'));
      }, this.cfg.timeoutMs);
      const handler: Dispatcher.DispatchHandlers = {
        onConnect: (a) => {
          abort = a;
          if (settled) a(new Error('attempt already over'));
        },
        onUpgrade: () => undefined,
        onHeaders: (status, raw) => {
          if (settled) return false;
          if (status < 200) return true; // 1xx: the answer follows
          try {
            const range = this.checkHead(status, util.parseHeaders(raw), start, last, what);
            const size = range.last - start + 1;
            bytes = into ? into.subarray(0, size) : new Uint8Array(size);
            objectSize = range.objectSize;
          } catch (e) {
            refuse(e as Error);
            return false;
          }
          return true;
        },
        onData: (part) => {
          if (settled || bytes === null) return false;
          if (got + part.length > bytes.length) {
            refuse(
              new HttpRangeError('ERR_FAULTLINE_HTTP_RANGE', `GET ${what}: the body is longer than the ${bytes.length} bytes its Content-Range announces`, false),
            );
            return false;
          }
          bytes.set(part, got);
          got += part.length;
          return true;
        },
        onComplete: () => {
          if (bytes !== null && got !== bytes.length) {
            finish(new HttpRangeError('ERR_FAULTLINE_HTTP_RANGE', `GET ${what}: short body, ${got} of the ${bytes.length} bytes its Content-Range announces`, false));
          } else finish(bytes === null ? failed(new Error('the answer ended before its headers')) : null);
        },
        onError: (e) => finish(failed(e)),
      };
      try {
        this.pool.dispatch({ path: this.path, method: 'GET', headers: { ...this.cfg.headers, range: `bytes=${start}-${last}` } }, handler);
      } catch (e) {
        finish(failed(e));
      }
    });
  }

  /** The status and Content-Range of an answer to bytes [start, last]: the last byte the body must end at. */
  private checkHead(
    status: number,
    headers: Record<string, string | string[] | undefined>,
    start: number,
    last: number,
    what: string,
  ): { last: number; objectSize: number | undefined } {
    if (status !== 206) {
      if (status === 200) {
        throw new HttpRangeError(
          'ERR_FAULTLINE_HTTP_STATUS',
          `GET ${what}: the server answered 200 with the whole object instead of 206 Partial Content: it ignores Range requests; ` +
            'serve the object from a server that supports them (S3 and its compatibles, nginx, CDNs do)',
          false,
        );
      }
      if (status === 416) {
        throw new HttpRangeError(
          'ERR_FAULTLINE_HTTP_RANGE',
          `GET ${what}: 416 Range Not Satisfiable: the range starts past the end of the object` +
            `${headers['content-range'] ? ` (${String(headers['content-range'])})` : ''}; the region is larger than the object`,
          false,
        );
      }
      const retryable = status >= 500 || status === 429;
      throw new HttpRangeError(
        'ERR_FAULTLINE_HTTP_STATUS',
        `GET ${what}: the server answered ${status}` +
          (status === 403 || status === 401 ? ' (check the headers option, or whether a presigned URL expired)' : '') +
          (status >= 300 && status < 400 ? ' (redirects are not followed: use the final URL)' : ''),
        retryable,
      );
    }
    const header = headers['content-range'];
    const m = typeof header === 'string' ? CONTENT_RANGE.exec(header.trim()) : null;
    if (!m) {
      throw new HttpRangeError(
        'ERR_FAULTLINE_HTTP_RANGE',
        `GET ${what}: a 206 answer needs a Content-Range "bytes first-last/size", got ${header === undefined ? 'none' : JSON.stringify(header)}`,
        false,
      );
    }
    const first = Number(m[1]);
    const end = Number(m[2]);
    const objectSize = m[3] === '*' ? undefined : Number(m[3]);
    // The range may stop early only where the object ends.
    const endsEarly = objectSize !== undefined && end === objectSize - 1 && end < last;
    if (first !== start || (end !== last && !endsEarly) || (objectSize !== undefined && end >= objectSize)) {
      throw new HttpRangeError(
        'ERR_FAULTLINE_HTTP_RANGE',
        `GET ${what}: the answer's Content-Range is "${header as string}", not the bytes asked for`,
        false,
      );
    }
    const declared = headers['content-length'];
    if (typeof declared === 'string' && Number(declared) !== end - start + 1) {
      throw new HttpRangeError(
        'ERR_FAULTLINE_HTTP_RANGE',
        `GET ${what}: Content-Length ${declared} disagrees with Content-Range "${header as string}" (${end - start + 1} bytes)`,
        false,
      );
    }
    return { last: end, objectSize };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
