/**
 * The size of an object behind an HTTP(S) URL, asked the way the httpRange
 * resolver will ask for its pages: a GET of its first byte (`Range:
 * bytes=0-0`), whose Content-Range names the total. Not HEAD: a presigned
 * S3 URL is signed for one method, and GET is the one the pages need.
 *
 * Used where the size must be known before the first fault (the Firecracker
 * server refuses regions that lie past the object at handshake time) and to
 * fail at startup, not at the first fault, when the URL is wrong.
 */
import { request } from 'undici';
import { FaultlineError } from '../errors.js';
import { httpRangeConfig, redactedUrl, type HttpRangeOptions } from './http-range-options.js';

const CONTENT_RANGE_TOTAL = /^bytes \d+-\d+\/(\d+)$/;

/** Bytes in the object at `url` (checked options as for resolvers.httpRange; a request of `timeoutMs`). */
export async function httpObjectSize(url: string, options: Omit<HttpRangeOptions, 'url'> = {}): Promise<number> {
  const cfg = httpRangeConfig({ ...options, url }, 1);
  const where = redactedUrl(cfg.url);
  let res;
  try {
    res = await request(cfg.url, {
      method: 'GET',
      headers: { ...cfg.headers, range: 'bytes=0-0' },
      signal: AbortSignal.timeout(cfg.timeoutMs),
    });
  } catch (err) {
    const timeout = (err as Error).name === 'TimeoutError';
    throw new FaultlineError(
      timeout ? 'ERR_FAULTLINE_HTTP_TIMEOUT' : 'ERR_FAULTLINE_HTTP_NETWORK',
      `GET bytes 0-0 of ${where} ${timeout ? `took longer than ${cfg.timeoutMs} ms` : `failed: ${(err as Error).message}`}`,
      { cause: err },
    );
  }
  // One byte at most: read it through so the connection ends cleanly.
  await res.body.dump().catch(() => undefined);
  if (res.statusCode !== 206) {
    throw new FaultlineError(
      'ERR_FAULTLINE_HTTP_STATUS',
      `GET bytes 0-0 of ${where}: the server answered ${res.statusCode}` +
        (res.statusCode === 200 ? ' instead of 206 Partial Content: it ignores Range requests' : '') +
        (res.statusCode === 403 || res.statusCode === 401 ? ' (check the headers, or whether a presigned URL expired)' : ''),
    );
  }
  const header = res.headers['content-range'];
  const m = typeof header === 'string' ? CONTENT_RANGE_TOTAL.exec(header.trim()) : null;
  if (!m) {
    throw new FaultlineError(
      'ERR_FAULTLINE_HTTP_RANGE',
      `GET bytes 0-0 of ${where}: the answer's Content-Range (${header === undefined ? 'none' : JSON.stringify(header)}) does not give the object's size`,
    );
  }
  return Number(m[1]);
}
