// Record and prefetch: a region records its first touches (native path and
// JS), the trace round-trips through a trace file (with and without the
// pages' bytes), and a fresh region prefetched from it has every working-set
// page installed before it is touched — bytes checked, counts exact.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import testing from '@faultline/native/testing';
import { FaultHandler, fillPattern, resolvers, readTrace, writeTrace } from '../dist/index.js';
import { firstDifference, permutation, tempDir, writePatternFile } from './helpers.mjs';

const PAGE = 4096;
const PAGES = 2048; // 8 MiB
const SEED = 5150;
let tmp;
let memFile;
let memBytes;

before(() => {
  tmp = tempDir('faultline-trace-');
  memFile = `${tmp.dir}/mem.bin`;
  memBytes = writePatternFile(memFile, PAGES * PAGE, SEED);
});
after(() => tmp.cleanup());

/** A fixed working set: 20% of the pages in a fixed pseudo-random order. */
const workingSet = () => Array.from(permutation(PAGES, 99)).slice(0, PAGES / 5);

/** Touches `pages` one at a time, in order, from one native thread (so the first-touch order is exactly this). */
async function touchInOrder(region, pages) {
  for (const p of pages) await testing.touchPages(region.address + p * PAGE, PAGE, { threads: 1, latencies: false });
}

for (const nativeResolvers of [true, false]) {
  test(`record (${nativeResolvers ? 'native path' : 'JS'}): the trace lists each first touch once, in order, with times`, async () => {
    const handler = await FaultHandler.create({ workers: 2, nativeResolvers });
    try {
      const region = await handler.map({ size: PAGES * PAGE, resolver: resolvers.file(memFile), record: true });
      const ws = workingSet().slice(0, 64);
      await touchInOrder(region, ws);
      await touchInOrder(region, ws.slice(0, 10)); // touched again: not first touches, not recorded again
      const t = region.trace();
      assert.deepEqual(Array.from(t.pages), ws);
      assert.equal(t.pageSize, PAGE);
      assert.equal(t.size, PAGES * PAGE);
      assert.equal(t.offset, 0);
      assert.equal(t.complete, true);
      for (let i = 1; i < t.timesUs.length; i++) assert.ok(t.timesUs[i] >= t.timesUs[i - 1], 'times grow with the order');
      // A region that does not record says so.
      const plain = await handler.map({ size: 16 * PAGE, resolver: resolvers.zero() });
      assert.throws(() => plain.trace(), { code: 'ERR_FAULTLINE_NOT_RECORDING' });
    } finally {
      await handler.close();
    }
  });
}

for (const withData of [true, false]) {
  test(`prefetch from a trace file ${withData ? 'holding the pages' : 'without pages (the resolver produces them)'}: the working set is installed before it is touched`, async () => {
    const ws = workingSet();
    const file = `${tmp.dir}/ws-${withData}.trace`;
    const handler = await FaultHandler.create({ workers: 2 });
    try {
      const recording = await handler.map({ size: PAGES * PAGE, resolver: resolvers.file(memFile), record: true, name: 'first-run' });
      await testing.touchPages(recording.address, recording.size, { threads: 1, latencies: false, order: 'sequential' }); // all pages...
      const sequential = recording.trace();
      assert.equal(sequential.pages.length, PAGES);
      await recording.unmap();

      // Record the real working set in a fresh region.
      const rec = await handler.map({ size: PAGES * PAGE, resolver: resolvers.file(memFile), record: true });
      await touchInOrder(rec, ws);
      await writeTrace(file, [rec.trace()], withData ? { memFile } : {});
      await rec.unmap();
      if (withData) assert.ok(statSync(file).size >= ws.length * PAGE, 'the pages are in the file');

      const { regions } = await readTrace(file);
      assert.equal(regions.length, 1);
      assert.deepEqual(Array.from(regions[0].pages), ws);
      assert.equal(regions[0].data !== undefined, withData);

      // The restore: a resolver that fails every call, so the only way a page can be right is the prefetch
      // (with page data) — or, without data, the file resolver the prefetch loads itself.
      const resolver = withData ? resolvers.custom(new URL('./fixtures/refusing-resolver.mjs', import.meta.url), {}) : resolvers.file(memFile);
      const restored = await handler.map({ size: PAGES * PAGE, resolver, prefetch: regions[0], onError: 'zero' });
      const report = await restored.prefetched();
      assert.deepEqual(
        { pages: report.pages, installed: report.installed, alreadyPresent: report.alreadyPresent, cancelled: report.cancelled, failed: report.failed },
        { pages: ws.length, installed: ws.length, alreadyPresent: 0, cancelled: 0, failed: 0 },
      );
      const faultsBefore = restored.stats().faults;
      const got = new Uint8Array(restored.buffer);
      for (const p of ws) {
        const at = p * PAGE;
        assert.equal(firstDifference(got.subarray(at, at + PAGE), memBytes.subarray(at, at + PAGE)), -1, `page ${p}`);
      }
      assert.equal(restored.stats().faults, faultsBefore, 'touching the prefetched working set took no fault');
      assert.equal(restored.stats().errors, 0);
    } finally {
      await handler.close();
    }
  });
}

test('prefetch races demand faults: each page installed once (EEXIST counted as alreadyPresent), every byte right', async () => {
  const handler = await FaultHandler.create({ workers: 2 });
  try {
    const trace = { pageSize: PAGE, pages: Uint32Array.from({ length: PAGES }, (_, i) => i) };
    const region = await handler.map({ size: PAGES * PAGE, resolver: resolvers.file(memFile), prefetch: trace });
    // Demand faults from 2 threads across the whole region while the prefetch runs.
    await testing.touchPages(region.address, region.size, { threads: 2, order: 'random', seed: 4, latencies: false });
    const report = await region.prefetched();
    assert.equal(report.pages, PAGES);
    assert.equal(report.installed + report.alreadyPresent, PAGES);
    assert.equal(report.cancelled + report.failed, 0);
    await handler.idle();
    assert.equal(region.stats().pagesInstalled + report.installed, PAGES, 'one install per page between demand and prefetch');
    assert.equal(firstDifference(new Uint8Array(region.buffer), memBytes), -1);
  } finally {
    await handler.close();
  }
});

for (const kind of ['file', 'custom']) {
  test(`a demand fault on a page of a native prefetch plan (resolver: ${kind}) installs it and the plan pages after it: each page once, every byte right`, async () => {
    // A plan of every page (in a pseudo-random order) whose bytes the trace
    // carries, adopted the way a restore adopts a VM's uffd: a thread of the
    // "VM" is already parked on a page near the END of the plan when adopt()
    // starts the prefetch, which must install ~16k pages (tens of ms) before
    // it gets there. The parked fault is served first and takes the plan's
    // last pages with it; the thread later finds them claimed.
    const native = (await import('@faultline/native')).default;
    const pages = 16384; // 64 MiB
    const big = `${tmp.dir}/big.bin`;
    const bigBytes = writePatternFile(big, pages * PAGE, SEED + 1);
    const order = Array.from(permutation(pages, 7));
    const file = `${tmp.dir}/plan-all.trace`;
    const full = { size: pages * PAGE, offset: 0, pageSize: PAGE, pages: Uint32Array.from(order), timesUs: new Uint32Array(pages), complete: true };
    await writeTrace(file, [full], { memFile: big });
    const { regions } = await readTrace(file);
    const fd = native.uffdCreate();
    native.uffdApi(fd, 0);
    const map = native.mapAnonymous(pages * PAGE);
    native.uffdRegister(fd, map.address, map.length, native.constants.UFFDIO_REGISTER_MODE_MISSING);
    const handler = await FaultHandler.create({ workers: 2 });
    let adopted = null;
    try {
      const WINDOW = 64; // serve/prefetch_plan.h kFaultWindow
      const tail = order.slice(pages - WINDOW - 1); // the parked page, then the window after it
      const parked = testing.touchPages(map.address + tail[0] * PAGE, PAGE, { threads: 1, latencies: false });
      // The same bytes either way: the file holds the pattern the JS resolver makes.
      const resolver = kind === 'file' ? resolvers.file(big) : resolvers.custom(new URL('./fixtures/failing-resolver.mjs', import.meta.url), { seed: SEED + 1 });
      adopted = await handler.adopt(fd, { regions: [{ address: map.address, size: map.length, resolver, prefetch: regions[0] }] });
      await parked;
      for (const p of tail.slice(1)) await testing.touchPages(map.address + p * PAGE, PAGE, { threads: 1, latencies: false });
      const [report] = await adopted.prefetched();
      await handler.idle();
      const [stats] = adopted.stats();
      assert.equal(report.pages, pages);
      assert.equal(report.installed + report.alreadyPresent, pages, JSON.stringify(report));
      assert.equal(report.cancelled + report.failed, 0);
      assert.equal(stats.pagesInstalled + report.installed, pages, 'one install per page between demand faults, their windows and the thread');
      assert.equal(firstDifference(new Uint8Array(map.buffer), bigBytes), -1);
      // The parked fault is read once adopt() has loaded the resolvers; on a
      // loaded machine the thread can have installed all 16k pages by then
      // (it was started first), and the parked thread was woken by its copy.
      // When the fault came first (its page then counts as alreadyPresent to
      // the plan), its window must have installed the plan's last pages, so
      // touching them faulted no more.
      if (report.alreadyPresent > 0) {
        assert.ok(report.installedOnFaults > 0, `the parked fault took plan pages with it: ${JSON.stringify(report)}`);
        assert.equal(stats.faults, 1, 'the pages after the parked one were in place when touched');
      } else {
        assert.equal(report.installedOnFaults, 0, 'no fault used the plan');
      }
    } finally {
      await handler.close(); // closes the adopted uffd too
      if (adopted === null) native.closeFd(fd);
    }
  });
}

test('adopt() whose resolver fails to load after its prefetch started: refused, the prefetch cancelled; a second adopt() serves every byte', async () => {
  // adopt() starts a prefetch before it loads the resolvers (the peer is running); a load that fails must undo both.
  const native = (await import('@faultline/native')).default;
  const fd = native.uffdCreate();
  native.uffdApi(fd, 0);
  const map = native.mapAnonymous(PAGES * PAGE);
  native.uffdRegister(fd, map.address, map.length, native.constants.UFFDIO_REGISTER_MODE_MISSING);
  const file = `${tmp.dir}/adopt-fail.trace`;
  const ws = workingSet();
  await writeTrace(file, [{ size: PAGES * PAGE, offset: 0, pageSize: PAGE, pages: Uint32Array.from(ws), timesUs: new Uint32Array(ws.length), complete: true }], { memFile });
  const plan = (await readTrace(file)).regions[0];
  const handler = await FaultHandler.create({ workers: 2 });
  let adopted = null;
  try {
    const region = { address: map.address, size: map.length, prefetch: plan };
    await assert.rejects(handler.adopt(fd, { regions: [{ ...region, resolver: resolvers.custom('/nonexistent/resolver.mjs') }] }), {
      code: 'ERR_FAULTLINE_RESOLVER_LOAD',
    });
    adopted = await handler.adopt(fd, { regions: [{ address: map.address, size: map.length, resolver: resolvers.file(memFile) }] });
    await testing.touchPages(map.address, map.length, { threads: 2, order: 'random', seed: 3, latencies: false });
    const bytes = new Uint8Array(map.buffer);
    assert.equal(firstDifference(bytes, memBytes), -1, 'pages the cancelled prefetch installed hold their recorded bytes; the rest came on demand');
  } finally {
    await handler.close(); // closes the adopted uffd too
    if (adopted === null) native.closeFd(fd);
  }
});

test('a prefetch through a slow async resolver keeps several runs in flight (bounded), every page installed once with its bytes', async () => {
  const handler = await FaultHandler.create({ workers: 1 });
  try {
    // Every other page: no two plan pages are adjacent, so each is a run of its own and a resolver call of its own.
    const N = 96;
    const plan = Uint32Array.from({ length: N }, (_, i) => 2 * i);
    const inflight = new Int32Array(new SharedArrayBuffer(12));
    const slow = resolvers.custom(new URL('./fixtures/slow-resolver.mjs', import.meta.url), { ms: 20, inflight });
    const region = await handler.map({ size: 2 * N * PAGE, resolver: slow, prefetch: { pageSize: PAGE, pages: plan } });
    const report = await region.prefetched();
    assert.deepEqual(
      { pages: report.pages, installed: report.installed, alreadyPresent: report.alreadyPresent, cancelled: report.cancelled, failed: report.failed },
      { pages: N, installed: N, alreadyPresent: 0, cancelled: 0, failed: 0 },
    );
    assert.equal(Atomics.load(inflight, 2), N, 'one resolver call per run, nothing touched yet');
    const most = Atomics.load(inflight, 1);
    assert.ok(most > 1, `the resolver calls overlapped (at most ${most} in flight)`);
    assert.ok(most <= 16, `at most 16 runs in flight, saw ${most}`);
    const faultsBefore = region.stats().faults;
    const got = new Uint8Array(region.buffer);
    const expected = new Uint8Array(PAGE);
    for (const p of plan) {
      fillPattern(0, p * PAGE, expected);
      assert.equal(firstDifference(got.subarray(p * PAGE, (p + 1) * PAGE), expected), -1, `page ${p}`);
    }
    assert.equal(region.stats().faults, faultsBefore, 'the prefetched pages took no fault');
  } finally {
    await handler.close();
  }
});

test('unmap and close cancel a running prefetch; a bad plan is refused at map()', async () => {
  const handler = await FaultHandler.create({ workers: 1 });
  const all = { pageSize: PAGE, pages: Uint32Array.from({ length: PAGES }, (_, i) => i) };
  try {
    // A slow resolver and single-page runs (a shuffled plan) keep the prefetch going long enough to be cancelled.
    const slow = resolvers.custom(new URL('./fixtures/slow-resolver.mjs', import.meta.url), { ms: 10 });
    const shuffled = { pageSize: PAGE, pages: permutation(PAGES, 7) };
    const region = await handler.map({ size: PAGES * PAGE, resolver: slow, prefetch: shuffled });
    await new Promise((r) => setTimeout(r, 100));
    await region.unmap();
    const report = await region.prefetched();
    assert.ok(report.cancelled > 0, `cancelled ${report.cancelled}`);
    assert.equal(report.installed + report.alreadyPresent + report.cancelled + report.failed, PAGES);

    await assert.rejects(handler.map({ size: 16 * PAGE, resolver: resolvers.zero(), prefetch: all }), (e) =>
      e.code === 'ERR_FAULTLINE_INVALID_ARGUMENT' && /page 2047, beyond this region's 16 pages/.test(e.message));
    await assert.rejects(handler.map({ size: 16 * PAGE, resolver: resolvers.zero(), prefetch: { pageSize: 2 << 20, pages: new Uint32Array(1) } }), (e) =>
      e.code === 'ERR_FAULTLINE_INVALID_ARGUMENT' && /2097152-byte pages/.test(e.message));
    await assert.rejects(handler.map({ size: 16 * PAGE, resolver: resolvers.zero(), prefetch: { pageSize: PAGE, pages: [1, 2] } }), (e) =>
      e.code === 'ERR_FAULTLINE_INVALID_ARGUMENT' && /Uint32Array/.test(e.message));

    const closing = await handler.map({ size: PAGES * PAGE, resolver: slow, prefetch: shuffled });
    await new Promise((r) => setTimeout(r, 100));
    await handler.close();
    const r2 = await closing.prefetched();
    assert.ok(r2.cancelled > 0);
  } finally {
    if (!handler.closed) await handler.close();
  }
});

test('readTrace refuses what is not a trace file, naming the problem', async () => {
  const junk = `${tmp.dir}/junk.trace`;
  writePatternFile(junk, 4096, 1);
  await assert.rejects(readTrace(junk), (e) => e.code === 'ERR_FAULTLINE_TRACE_FORMAT' && /does not start with FLTRACE/.test(e.message));
  await assert.rejects(writeTrace(`${tmp.dir}/x.trace`, []), { code: 'ERR_FAULTLINE_INVALID_ARGUMENT' });
  const t = { size: PAGES * PAGE, offset: 0, pageSize: PAGE, pages: Uint32Array.of(PAGES + 5), timesUs: Uint32Array.of(0), complete: true };
  await assert.rejects(writeTrace(`${tmp.dir}/y.trace`, [t], { memFile }), (e) => e.code === 'ERR_FAULTLINE_TRACE_DATA' && /memory file/.test(e.message));
});

test("fill: 'all' installs the working set, then every other page (rate-limited by fillRate): the region stops faulting", async () => {
  const handler = await FaultHandler.create({ workers: 2 });
  try {
    const ws = workingSet().slice(0, 100);
    const region = await handler.map({
      size: PAGES * PAGE,
      resolver: resolvers.file(memFile),
      prefetch: { pageSize: PAGE, pages: Uint32Array.from(ws) },
      fill: 'all',
    });
    const report = await region.prefetched();
    assert.equal(report.pages, PAGES);
    assert.equal(report.installed, PAGES);
    assert.ok(report.workingSetMs <= report.ms);
    assert.equal(firstDifference(new Uint8Array(region.buffer), memBytes), -1);
    assert.equal(region.stats().faults, 0, 'nothing was left to fault');

    // The working set from a trace file's page data (copied in batches by uffdCopyPages), then the rest.
    const file = `${tmp.dir}/fill-all.trace`;
    await writeTrace(file, [{ size: PAGES * PAGE, offset: 0, pageSize: PAGE, pages: Uint32Array.from(ws), timesUs: new Uint32Array(ws.length), complete: true }], { memFile });
    const [plan] = (await readTrace(file)).regions;
    const withData = await handler.map({ size: PAGES * PAGE, resolver: resolvers.file(memFile), prefetch: plan, fill: 'all' });
    const r1 = await withData.prefetched();
    assert.deepEqual([r1.pages, r1.installed, r1.alreadyPresent, r1.cancelled, r1.failed], [PAGES, PAGES, 0, 0, 0]);
    assert.equal(firstDifference(new Uint8Array(withData.buffer), memBytes), -1);
    assert.equal(withData.stats().faults, 0);

    // No plan: fill everything, at most 4 MiB/s: 2 MiB cannot take less than ~0.5 s.
    const small = await handler.map({ size: 512 * PAGE, resolver: resolvers.file(memFile), fill: 'all', fillRate: 4 << 20 });
    const r2 = await small.prefetched();
    assert.equal(r2.installed, 512);
    assert.ok(r2.ms >= 400, `rate-limited fill took ${r2.ms} ms`);
    assert.equal(firstDifference(new Uint8Array(small.buffer), memBytes.subarray(0, 512 * PAGE)), -1);

    for (const [opts, pattern] of [
      [{ fill: 'working-set' }, /needs prefetch/],
      [{ fill: 'lazy', prefetch: { pageSize: PAGE, pages: new Uint32Array(1) } }, /drop prefetch/],
      [{ fill: 'everything' }, /fill must be one of 'lazy', 'working-set', 'all'/],
      [{ fill: 'all', fillRate: -1 }, /fillRate must be bytes per second/],
      [{ fillRate: 1000 }, /fillRate limits fill: 'all' only/],
    ]) {
      await assert.rejects(handler.map({ size: 16 * PAGE, resolver: resolvers.zero(), ...opts }), (e) =>
        e.code === 'ERR_FAULTLINE_INVALID_ARGUMENT' && pattern.test(e.message), JSON.stringify(opts));
    }
  } finally {
    await handler.close();
  }
});
