// resolvers.httpRange against a real HTTP server on loopback (a worker thread,
// fixtures/range-server.mjs): every touched byte is checked against the
// object; the server counts requests, connections and requests in flight, and
// misbehaves on demand (latency, 500s, dropped connections, short bodies,
// wrong Content-Range, 200 instead of 206).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import testing from '@faultline/native/testing';
import { FaultHandler, resolvers } from '../dist/index.js';
import { firstDifference, permutation } from './helpers.mjs';
import { startRangeServer } from './fixtures/range-server.mjs';

const SIZE = 8 << 20;
const SEED = 41;
const PS = 4096;
let server;

before(async () => {
  server = await startRangeServer({ size: SIZE, seed: SEED });
});
after(() => server?.close());

/** Runs `fn(handler, errors)` with a fresh handler (and fresh server counters), closing it after. */
async function withHandler(options, fn) {
  await server.configure({});
  await server.reset();
  const handler = await FaultHandler.create(options);
  const errors = [];
  handler.on('error', (e) => errors.push(e));
  let ok = false;
  try {
    await fn(handler, errors);
    // Every async answer given, the workers are idle (not waiting out a timeout).
    assert.equal(await handler.idle(), true, 'the handler went idle');
    ok = true;
  } finally {
    const report = await handler.close();
    if (ok) assert.equal(report.drained, true, 'close() found nothing pending');
  }
}

const until = async (cond, ms = 5000) => {
  for (const end = Date.now() + ms; !cond() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 5));
  return cond();
};

/** Faults in `pages` (page indices) of `region` from native threads; the main thread's event loop stays free. */
async function touch(region, pages, threads = 1) {
  const groups = Array.from({ length: threads }, () => []);
  pages.forEach((p, i) => groups[i % threads].push(p));
  await Promise.all(
    groups.map(async (group) => {
      for (const p of group) await testing.touchPages(region.address + p * PS, PS, { latencies: false });
    }),
  );
}

const pageOf = (region, p) => new Uint8Array(region.buffer, p * PS, PS);
const expectedPage = (p, base = 0) => server.bytes.subarray(base + p * PS, base + (p + 1) * PS);

test('the spec checks its options with coded errors', () => {
  const url = 'http://127.0.0.1:1/x';
  assert.throws(() => resolvers.httpRange(url, { chunk: 5000 }), { code: 'ERR_FAULTLINE_INVALID_SIZE', message: /multiple of the page size/ });
  assert.throws(() => resolvers.httpRange(url, { chunk: 0 }), { code: 'ERR_FAULTLINE_INVALID_SIZE' });
  assert.throws(() => resolvers.httpRange('ftp://host/x'), { code: 'ERR_FAULTLINE_INVALID_ARGUMENT', message: /http: or https:/ });
  assert.throws(() => resolvers.httpRange('not a url'), { code: 'ERR_FAULTLINE_INVALID_ARGUMENT' });
  assert.throws(() => resolvers.httpRange('http://u:p@host/x'), { code: 'ERR_FAULTLINE_INVALID_ARGUMENT', message: /authorization/ });
  assert.throws(() => resolvers.httpRange(url, { headers: { Range: 'bytes=0-1' } }), { code: 'ERR_FAULTLINE_INVALID_ARGUMENT', message: /range/ });
  assert.throws(() => resolvers.httpRange(url, { headers: { a: 1 } }), { code: 'ERR_FAULTLINE_INVALID_ARGUMENT' });
  assert.throws(() => resolvers.httpRange(url, { concurrency: 0 }), { code: 'ERR_FAULTLINE_INVALID_ARGUMENT', message: /concurrency/ });
  assert.throws(() => resolvers.httpRange(url, { retries: -1 }), { code: 'ERR_FAULTLINE_INVALID_ARGUMENT', message: /retries/ });
  assert.throws(() => resolvers.httpRange(url, { offset: 1.5 }), { code: 'ERR_FAULTLINE_INVALID_ARGUMENT', message: /offset/ });
  assert.throws(() => resolvers.httpRange(url, { prefetchGap: -1 }), { code: 'ERR_FAULTLINE_INVALID_ARGUMENT', message: /prefetchGap/ });
  assert.throws(() => resolvers.httpRange(url, { prefetchChunk: 5000 }), { code: 'ERR_FAULTLINE_INVALID_SIZE', message: /prefetchChunk must be a positive multiple/ });
  const spec = resolvers.httpRange(new URL(url), { chunk: 8192 });
  assert.deepEqual(
    { ...spec.options, headers: { ...spec.options.headers } },
    { url, offset: 0, chunk: 8192, concurrency: 8, cacheChunks: 64, retries: 3, timeoutMs: 1000, backoffMs: 50, headers: {}, prefetchGap: 131072, prefetchChunk: 262144 },
  );
});

for (const [chunk, readahead] of [
  [PS, 1],
  [64 << 10, 1],
  [256 << 10, 16],
  [1 << 20, 7],
]) {
  test(`chunk ${chunk}, readahead ${readahead}: every byte of the region, touched in random order by the main thread`, async () => {
    await withHandler({ workers: 2 }, async (handler, errors) => {
      const size = 4 << 20;
      const region = await handler.map({ size, resolver: resolvers.httpRange(server.url, { chunk, cacheChunks: 1024 }), readahead });
      const view = new Uint8Array(region.buffer);
      const order = permutation(size / PS, chunk + readahead);
      for (let i = 0; i < order.length; i++) {
        const off = order[i] * PS + (i % PS);
        assert.equal(view[off], server.bytes[off], `byte ${off}`);
      }
      assert.equal(firstDifference(view, server.bytes.subarray(0, size)), -1);
      assert.deepEqual(errors, []);
      // Two workers each keep their own cache: a chunk is fetched at most once per worker.
      assert.ok(server.stat('requests') <= 2 * (size / chunk), `${server.stat('requests')} requests`);
      assert.ok(server.stat('requests') >= size / chunk);
    });
  });
}

test('one request per distinct chunk: concurrent misses in a chunk share its request, hits come from the cache', async () => {
  await withHandler({ workers: 1 }, async (handler, errors) => {
    const chunk = 64 << 10;
    const region = await handler.map({ size: SIZE, resolver: resolvers.httpRange(server.url, { chunk, cacheChunks: 256 }) });
    await server.configure({ latencyMs: 5, count: 0 });
    // A pseudo-random half of the pages, from 8 threads at once.
    const pages = [...permutation(SIZE / PS, 7)].slice(0, SIZE / PS / 2);
    await touch(region, pages, 8);
    const chunks = new Set(pages.map((p) => Math.floor((p * PS) / chunk)));
    assert.equal(server.stat('requests'), chunks.size);
    for (const p of pages) assert.equal(firstDifference(pageOf(region, p), expectedPage(p)), -1, `page ${p}`);
    // Every other page of a fetched chunk is now a cache hit: no more requests.
    const rest = [];
    for (const c of chunks) for (let p = (c * chunk) / PS; p < ((c + 1) * chunk) / PS; p++) if (!pages.includes(p)) rest.push(p);
    await touch(region, rest, 4);
    assert.equal(server.stat('requests'), chunks.size);
    for (const p of rest) assert.equal(firstDifference(pageOf(region, p), expectedPage(p)), -1, `page ${p}`);
    // Keep-alive: the requests shared a handful of connections (at most one per request slot).
    assert.ok(server.stat('connections') <= 8, `${server.stat('connections')} connections`);
    assert.deepEqual(errors, []);
  });
});

test('a small cache evicts the least recently used chunk (and refetches it)', async () => {
  await withHandler({ workers: 1 }, async (handler) => {
    const chunk = 16 << 10; // 4 pages
    const region = await handler.map({ size: 1 << 20, resolver: resolvers.httpRange(server.url, { chunk, cacheChunks: 2 }) });
    await touch(region, [0, 4, 1]); // chunks 0, 1, then 0 again (a hit, now most recent)
    assert.equal(server.stat('requests'), 2);
    await touch(region, [8, 5]); // chunk 2 evicts chunk 1 (least recent); page 5 (chunk 1) refetches it
    assert.equal(server.stat('requests'), 4);
    await touch(region, [2]); // chunk 0 was evicted by chunk 1's return
    assert.equal(server.stat('requests'), 5);
    for (const p of [0, 1, 2, 4, 5, 8]) assert.equal(firstDifference(pageOf(region, p), expectedPage(p)), -1, `page ${p}`);
  });
});

test('concurrency bounds the requests in flight per worker', async () => {
  for (const [workers, concurrency] of [
    [1, 2],
    [2, 3],
  ]) {
    await withHandler({ workers }, async (handler) => {
      const size = 128 * PS;
      const region = await handler.map({ size, resolver: resolvers.httpRange(server.url, { chunk: PS, concurrency }) });
      await server.configure({ latencyMs: 15, mode: 'ok', count: 0 });
      await touch(region, [...permutation(size / PS, 3)], 12);
      const max = server.stat('maxInflight');
      assert.ok(max <= workers * concurrency, `${max} requests in flight, bound ${workers} x ${concurrency}`);
      // 12 threads faulting at once did overlap (else this test could not fail).
      assert.ok(max >= 2, `max in flight ${max}`);
      assert.equal(server.stat('requests'), size / PS);
      assert.equal(firstDifference(new Uint8Array(region.buffer), server.bytes.subarray(0, size)), -1);
    });
  }
});

test('20 ms of latency per request: still every byte, from 8 threads with readahead', async () => {
  await withHandler({ workers: 2 }, async (handler, errors) => {
    const size = 4 << 20;
    const offset = 3 * PS + (64 << 10); // the region starts mid-chunk in the object
    const region = await handler.map({ size, resolver: resolvers.httpRange(server.url, { chunk: 128 << 10, offset }), readahead: 8 });
    await server.configure({ latencyMs: 20, count: 0 });
    await testing.touchPages(region.address, size, { order: 'random', threads: 8, latencies: false });
    assert.equal(firstDifference(new Uint8Array(region.buffer), server.bytes.subarray(offset, offset + size)), -1);
    assert.deepEqual(errors, []);
  });
});

test('500 twice, then the right bytes: the resolver retried (with backoff) and nobody saw an error', async () => {
  await withHandler({ workers: 1 }, async (handler, errors) => {
    const region = await handler.map({ size: 16 * PS, resolver: resolvers.httpRange(server.url, { chunk: 16 * PS, backoffMs: 5 }) });
    await server.configure({ mode: '500', count: 2 });
    const view = new Uint8Array(region.buffer); // the main thread faults
    assert.equal(firstDifference(view, server.bytes.subarray(0, 16 * PS)), -1);
    assert.equal(server.stat('misbehaved'), 2);
    assert.equal(server.stat('requests'), 3);
    assert.deepEqual(errors, []);
  });
});

test('a connection dropped mid-body is retried on a new connection', async () => {
  await withHandler({ workers: 1 }, async (handler, errors) => {
    const region = await handler.map({ size: 32 * PS, resolver: resolvers.httpRange(server.url, { chunk: 32 * PS, backoffMs: 5 }) });
    await server.configure({ mode: 'drop', count: 1 });
    const view = new Uint8Array(region.buffer);
    assert.equal(firstDifference(view, server.bytes.subarray(0, 32 * PS)), -1);
    assert.equal(server.stat('requests'), 2);
    assert.ok(server.stat('connections') >= 2);
    assert.deepEqual(errors, []);
  });
});

test("retries used up on dropped connections: onError 'zero' gives a zero page and an ERR_FAULTLINE_HTTP_NETWORK 'error'", async () => {
  await withHandler({ workers: 1 }, async (handler, errors) => {
    const region = await handler.map({
      size: 8 * PS,
      resolver: resolvers.httpRange(server.url, { chunk: 4 * PS, retries: 2, backoffMs: 5 }),
      onError: 'zero',
    });
    await server.configure({ mode: 'drop', count: 3 });
    const view = new Uint8Array(region.buffer);
    assert.ok(pageOf(region, 1).every((b) => b === 0), 'nothing but zeros is installed');
    assert.equal(server.stat('requests'), 3, 'one attempt and two retries');
    assert.ok(await until(() => errors.length === 1));
    assert.equal(errors[0].code, 'ERR_FAULTLINE_HTTP_NETWORK');
    assert.equal(errors[0].action, 'zeroed');
    assert.equal(errors[0].address, region.address + PS);
    assert.match(errors[0].message, /bytes 0-16383 of http:\/\/127\.0\.0\.1:\d+\/snapshots\/mem\.bin failed (while reading the body|before the answer).*after 3 attempts/);
    // The server behaves again: the other chunk is served, the failed one is asked again.
    assert.equal(firstDifference(pageOf(region, 5), expectedPage(5)), -1);
    assert.equal(firstDifference(pageOf(region, 2), expectedPage(2)), -1);
    assert.equal(view[PS + 7], 0, 'the zeroed page stays as installed');
  });
});

test('answers that do not match the request are refused: nothing wrong is installed, the error names the problem', async () => {
  const cases = [
    ['short', 'ERR_FAULTLINE_HTTP_RANGE', /Content-Length 8192 disagrees with Content-Range "bytes 0-16383\/\d+"/],
    ['short-chunked', 'ERR_FAULTLINE_HTTP_RANGE', /short body, 8192 of the 16384 bytes/],
    ['wrong-range', 'ERR_FAULTLINE_HTTP_RANGE', /Content-Range is "bytes 4096-20479\/\d+", not the bytes asked for/],
    ['ignore-range', 'ERR_FAULTLINE_HTTP_STATUS', /answered 200 with the whole object instead of 206.*ignores Range/],
  ];
  for (const [mode, code, message] of cases) {
    await withHandler({ workers: 1 }, async (handler, errors) => {
      const region = await handler.map({
        size: 8 * PS,
        resolver: resolvers.httpRange(server.url, { chunk: 4 * PS, backoffMs: 1 }),
        onError: 'zero',
      });
      await server.configure({ mode, count: 1 });
      assert.ok(pageOf(region, 2).every((b) => b === 0), `${mode}: the page reads zero`);
      assert.equal(server.stat('requests'), 1, `${mode}: not retried (the same request gets the same answer)`);
      assert.ok(await until(() => errors.length === 1), mode);
      assert.equal(errors[0].code, code, mode);
      assert.match(errors[0].message, message, mode);
      assert.equal(errors[0].action, 'zeroed');
      // Nothing of the refused answer was kept: the chunk's other pages come from a fresh request.
      assert.equal(firstDifference(pageOf(region, 0), expectedPage(0)), -1, mode);
      assert.equal(server.stat('requests'), 2, mode);
    });
  }
});

test('a request slower than timeoutMs is ERR_FAULTLINE_HTTP_TIMEOUT after its retries', async () => {
  await withHandler({ workers: 1 }, async (handler, errors) => {
    const region = await handler.map({
      size: 4 * PS,
      resolver: resolvers.httpRange(server.url, { chunk: 4 * PS, timeoutMs: 150, retries: 1, backoffMs: 1 }),
      onError: 'zero',
    });
    await server.configure({ mode: 'slow-body', count: 2 });
    assert.equal(new Uint8Array(region.buffer)[100], 0);
    assert.ok(await until(() => errors.length === 1));
    assert.equal(errors[0].code, 'ERR_FAULTLINE_HTTP_TIMEOUT');
    assert.match(errors[0].message, /took longer than timeoutMs \(150 ms\).*after 2 attempts/);
    assert.equal(server.stat('requests'), 2);
  });
});

test('the end of the object: a partial last page is zero-padded, a page wholly past it is an error', async () => {
  const size = 64 * PS + 100; // the object ends 100 bytes into page 64
  const small = await startRangeServer({ size, seed: 5 });
  try {
    await withHandler({ workers: 1 }, async (handler, errors) => {
      const chunk = 8 * PS;
      const region = await handler.map({ size: 80 * PS, resolver: resolvers.httpRange(small.url, { chunk }), readahead: 16, onError: 'zero' });
      // Readahead from page 60 asks for pages 60-75 (chunks 7, 8, 9): 60-63 whole, 64 cut by the end, 65-75 past it.
      await testing.touchPages(region.address + 60 * PS, PS, { latencies: false });
      assert.equal(firstDifference(new Uint8Array(region.buffer, 60 * PS, 4 * PS), small.bytes.subarray(60 * PS, 64 * PS)), -1);
      const last = pageOf(region, 64); // installed by the same readahead: reading it faults no more
      assert.equal(firstDifference(last.subarray(0, 100), small.bytes.subarray(64 * PS)), -1);
      assert.ok(last.subarray(100).every((b) => b === 0), 'zero-padded past the end');
      assert.deepEqual(errors, []);
      assert.deepEqual((await small.requests()).map((r) => r.range), ['bytes=229376-262143', 'bytes=262144-294911']);
      // Page 66 lies wholly past the end: an error, not made-up zeros, and no request (the size is known).
      await testing.touchPages(region.address + 66 * PS, PS, { latencies: false });
      assert.ok(await until(() => errors.length === 1));
      assert.equal(errors[0].code, 'ERR_FAULTLINE_HTTP_RANGE');
      assert.match(errors[0].message, /byte 270336 of .* past the end of the object \(262244 bytes\)/);
      assert.equal(small.stat('requests'), 2);
      const stats = region.stats();
      assert.equal(stats.pagesInstalled, 6, 'pages 60-64 and the zero page 66');
    });
    // A fresh resolver that does not know the size yet asks for a chunk wholly past the end: the server answers 416, the same code.
    await withHandler({ workers: 1 }, async (handler, errors) => {
      const region = await handler.map({ size: 4 * PS, resolver: resolvers.httpRange(small.url, { offset: 128 * PS }), onError: 'zero' });
      await testing.touchPages(region.address, PS, { latencies: false });
      assert.ok(await until(() => errors.length === 1));
      assert.equal(errors[0].code, 'ERR_FAULTLINE_HTTP_RANGE');
      assert.match(errors[0].message, /416 Range Not Satisfiable/);
    });
  } finally {
    await small.close();
  }
});

test('custom headers reach the server on every request; presigned-style query strings stay out of messages', async () => {
  await withHandler({ workers: 1 }, async (handler, errors) => {
    const url = `${server.url}?X-Amz-Signature=secret123`;
    const region = await handler.map({
      size: 8 * PS,
      resolver: resolvers.httpRange(url, { chunk: 2 * PS, headers: { Authorization: 'Bearer t0ken', 'X-Faultline-Test': 'yes' } }),
      onError: 'zero',
    });
    await touch(region, [0, 2, 4]);
    const seen = await server.requests();
    assert.equal(seen.length, 3);
    for (const r of seen) {
      assert.equal(r.headers.authorization, 'Bearer t0ken');
      assert.equal(r.headers['x-faultline-test'], 'yes');
    }
    assert.deepEqual(seen.map((r) => r.range).sort(), ['bytes=0-8191', 'bytes=16384-24575', 'bytes=8192-16383']);
    // A refusal names the URL without its signature.
    await server.configure({ mode: '404', count: 1 });
    await touch(region, [6]);
    assert.ok(await until(() => errors.length === 1));
    assert.equal(errors[0].code, 'ERR_FAULTLINE_HTTP_STATUS');
    assert.match(errors[0].message, /answered 404/);
    assert.doesNotMatch(errors[0].message, /secret123/);
  });
});

test("close() closes the resolver's keep-alive connections", async () => {
  await withHandler({ workers: 1 }, async (handler) => {
    const region = await handler.map({ size: 16 * PS, resolver: resolvers.httpRange(server.url, { chunk: PS, concurrency: 4 }) });
    await touch(region, [...Array(16).keys()], 4);
    assert.ok(server.stat('open') >= 1);
    await region.unmap();
    // The server keeps idle connections for 60 s and undici for 4 s: only close() ends them this soon.
    assert.ok(await until(() => server.stat('open') === 0, 1500), `${server.stat('open')} connections still open`);
  });
});
