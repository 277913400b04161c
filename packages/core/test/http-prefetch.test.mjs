// A prefetch without page data through resolvers.httpRange (the bulk path):
// the plan's pages are fetched in spans sorted by address (gaps of up to
// prefetchGap fetched along), in requests of at most `prefetchChunk` bytes, straight
// into the prefetch's buffer, against a real HTTP server on loopback
// (fixtures/range-server.mjs). Every plan page's bytes are checked; gap
// pages are not installed; failures install nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import testing from '@faultline/native/testing';
import { FaultHandler, resolvers } from '../dist/index.js';
import { spansOf } from '../dist/worker/prefetch-spans.js';
import { firstDifference, permutation } from './helpers.mjs';
import { startRangeServer } from './fixtures/range-server.mjs';

const SIZE = 8 << 20;
const PS = 4096;
/** The prefetch thread's largest span (handler/prefetches.ts MAX_RUN_BYTES). */
const MAX_SPAN_PAGES = (1 << 20) / PS;
let server;

before(async () => {
  server = await startRangeServer({ size: SIZE, seed: 17 });
});
after(() => server?.close());

async function withHandler(fn) {
  await server.configure({});
  await server.reset();
  const handler = await FaultHandler.create({ workers: 1 });
  const errors = [];
  handler.on('error', (e) => errors.push(e));
  try {
    await fn(handler, errors);
  } finally {
    await handler.close();
  }
}

const REGION_PAGES = 1024;
/** 150 scattered pages of a 4 MiB region, in a shuffled touch order. */
const PLAN = permutation(REGION_PAGES, 9).slice(0, 150);
const rangeOf = (r) => r.range.match(/^bytes=(\d+)-(\d+)$/).slice(1).map(Number);

/** The plan's pages read back from the region: their bytes, and not one fault taken to read them. */
function checkPlanPages(region, plan, base = 0) {
  const faults = region.stats().faults;
  for (const p of plan) {
    const got = new Uint8Array(region.buffer, p * PS, PS);
    assert.equal(firstDifference(got, server.bytes.subarray(base + p * PS, base + (p + 1) * PS)), -1, `page ${p}`);
  }
  assert.equal(region.stats().faults, faults, 'the prefetched pages took no fault');
}

test('spans of the working set, at most prefetchChunk bytes a request, every plan page with its bytes; gap pages left to faults', async () => {
  await withHandler(async (handler, errors) => {
    const gap = 8 * PS;
    const region = await handler.map({
      size: REGION_PAGES * PS,
      // Faults fetch one page a request; the prefetch 16.
      resolver: resolvers.httpRange(server.url, { chunk: PS, prefetchChunk: 16 * PS, prefetchGap: gap }),
      prefetch: { pageSize: PS, pages: PLAN },
    });
    const report = await region.prefetched();
    assert.deepEqual(
      { pages: report.pages, installed: report.installed, alreadyPresent: report.alreadyPresent, cancelled: report.cancelled, failed: report.failed },
      { pages: 150, installed: 150, alreadyPresent: 0, cancelled: 0, failed: 0 },
    );
    // The requests are exactly the spans cut in pieces of at most prefetchChunk bytes, nothing else.
    const { spans } = spansOf(PLAN, gap / PS, MAX_SPAN_PAGES);
    const expected = [];
    for (const s of spans) for (let at = 0; at < s.n; at += 16) expected.push([(s.first + at) * PS, (s.first + Math.min(s.n, at + 16)) * PS - 1]);
    const got = (await server.requests()).map(rangeOf);
    assert.deepEqual(got.slice().sort((a, b) => a[0] - b[0]), expected.sort((a, b) => a[0] - b[0]));
    assert.ok(got.length < 150, `${got.length} requests for 150 scattered pages`);
    checkPlanPages(region, PLAN);
    // A page between two plan pages of a span was fetched but not installed: it faults, and gets its bytes.
    const inPlan = new Set(PLAN);
    const span = spans.find((s) => s.wanted.length < s.n);
    const gapPage = span.first + [...Array(span.n).keys()].find((k) => !inPlan.has(span.first + k));
    const faults = region.stats().faults;
    await testing.touchPages(region.address + gapPage * PS, PS, { latencies: false });
    assert.equal(region.stats().faults, faults + 1, `gap page ${gapPage} was not installed`);
    assert.deepEqual((await server.requests()).at(-1).range, `bytes=${gapPage * PS}-${(gapPage + 1) * PS - 1}`, 'the fault asked for its page (chunk)');
    assert.equal(firstDifference(new Uint8Array(region.buffer, gapPage * PS, PS), server.bytes.subarray(gapPage * PS, (gapPage + 1) * PS)), -1);
    assert.deepEqual(errors, []);
  });
});

test("prefetchGap 0: only the working set's own bytes go over the wire, one request per run of consecutive pages", async () => {
  await withHandler(async (handler, errors) => {
    const region = await handler.map({
      size: REGION_PAGES * PS,
      resolver: resolvers.httpRange(server.url, { prefetchChunk: 64 * PS, prefetchGap: 0 }),
      prefetch: { pageSize: PS, pages: PLAN },
    });
    const report = await region.prefetched();
    assert.equal(report.installed, 150);
    const ranges = (await server.requests()).map(rangeOf);
    const runs = spansOf(PLAN, 0, MAX_SPAN_PAGES).spans.length;
    assert.equal(ranges.length, runs, 'a request per run of consecutive plan pages');
    assert.equal(ranges.reduce((n, [a, b]) => n + b - a + 1, 0), 150 * PS, 'bytes fetched = bytes needed');
    checkPlanPages(region, PLAN);
    assert.deepEqual(errors, []);
  });
});

test('a refused answer fails its span only (nothing of it installed, demand faults serve it right); 500s are retried', async () => {
  await withHandler(async (handler, errors) => {
    await server.configure({ mode: 'short', count: 1 }); // the first request: a body shorter than its Content-Range
    const region = await handler.map({
      size: REGION_PAGES * PS,
      resolver: resolvers.httpRange(server.url, { prefetchChunk: 16 * PS, prefetchGap: 8 * PS, backoffMs: 1 }),
      prefetch: { pageSize: PS, pages: PLAN },
      onError: 'zero',
    });
    const report = await region.prefetched();
    const first = spansOf(PLAN, 8, MAX_SPAN_PAGES).spans[0]; // its first piece is the first request
    assert.equal(report.failed, first.wanted.length, 'the whole first span failed');
    assert.equal(report.installed, 150 - first.wanted.length);
    assert.equal(report.error.code, 'ERR_FAULTLINE_HTTP_RANGE');
    assert.match(report.error.message, /Content-Length \d+ disagrees with Content-Range/);
    // Its pages were left alone: each one faults now, and gets the object's bytes on demand.
    const faults = region.stats().faults;
    for (const k of first.wanted) {
      const p = first.first + k;
      await testing.touchPages(region.address + p * PS, PS, { latencies: false });
      assert.equal(firstDifference(new Uint8Array(region.buffer, p * PS, PS), server.bytes.subarray(p * PS, (p + 1) * PS)), -1, `page ${p}`);
    }
    assert.equal(region.stats().faults, faults + first.wanted.length, 'every page of the failed span faulted');
    checkPlanPages(region, PLAN);
    assert.deepEqual(errors, []);
  });
  await withHandler(async (handler, errors) => {
    await server.configure({ mode: '500', count: 3 });
    const region = await handler.map({
      size: REGION_PAGES * PS,
      resolver: resolvers.httpRange(server.url, { prefetchChunk: 16 * PS, backoffMs: 1 }),
      prefetch: { pageSize: PS, pages: PLAN },
    });
    const report = await region.prefetched();
    assert.deepEqual([report.installed, report.failed], [150, 0]);
    assert.equal(server.stat('misbehaved'), 3);
    checkPlanPages(region, PLAN);
    assert.deepEqual(errors, []);
  });
});

test('the end of the object: plan pages before it are installed (the cut one zero-padded), pages past it fail and are left to faults', async () => {
  const size = 10 * PS + 100; // the object ends 100 bytes into page 10
  const small = await startRangeServer({ size, seed: 23 });
  try {
    const handler = await FaultHandler.create({ workers: 1 });
    try {
      // One span over pages 8-12 (the end unknown at first): 8, 9 whole, 10 cut by the end, 11 and 12 past it.
      const plan = Uint32Array.of(12, 8, 10, 9, 11);
      const region = await handler.map({
        size: 16 * PS,
        resolver: resolvers.httpRange(small.url, { prefetchChunk: 2 * PS }),
        prefetch: { pageSize: PS, pages: plan },
        onError: 'zero',
      });
      const report = await region.prefetched();
      assert.deepEqual([report.installed, report.failed], [3, 2]);
      const faults = region.stats().faults;
      assert.equal(firstDifference(new Uint8Array(region.buffer, 8 * PS, 2 * PS + 100), small.bytes.subarray(8 * PS)), -1);
      assert.ok(new Uint8Array(region.buffer, 10 * PS + 100, PS - 100).every((b) => b === 0), 'zero-padded past the end');
      assert.equal(region.stats().faults, faults, 'pages 8-10 took no fault');
      // The end was learnt from the first piece: nothing wholly past it was asked for.
      assert.deepEqual((await small.requests()).map((r) => r.range), [`bytes=${8 * PS}-${10 * PS - 1}`, `bytes=${10 * PS}-${12 * PS - 1}`]);
    } finally {
      await handler.close();
    }
  } finally {
    await small.close();
  }
});
