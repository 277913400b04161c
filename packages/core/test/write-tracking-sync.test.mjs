// Write tracking with synchronous write-protect faults (map trackWrites:
// 'sync'; what trackWrites: true becomes on kernels without WP_ASYNC): the
// dirty set is exactly the pages written, on the native path, in JS and on
// the reader path; a write made after a reset is in a later answer while
// writer threads and resets race; the faults are served while the main
// thread is blocked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import testing from '@faultline/native/testing';
import { FaultHandler, resolvers, patternWord } from '../dist/index.js';
import { WriteTracking } from '../dist/handler/write-tracking.js';
import { createDirtyBitmap, readDirty, resetDirty, serveWriteFault } from '../dist/shared/dirty-bitmap.js';
import { openFds, permutation } from './helpers.mjs';

const PAGE = 4096;
const PAGE_WORDS = PAGE / 4;
const PAGES = 2048; // 8 MiB
const SEED = 41;

// Writes one word into each listed page (value: page index + 1), then reports.
const WRITER = `
const { parentPort, workerData: { buffer, pages, pageWords } } = require('node:worker_threads');
const words = new Uint32Array(buffer);
for (const p of pages) words[p * pageWords + 3] = p + 1;
parentPort.postMessage('done');`;

function runWorker(source, workerData) {
  return new Promise((resolve, reject) => {
    const w = new Worker(source, { eval: true, workerData });
    w.once('message', (m) => w.terminate().then(() => resolve(m)));
    w.once('error', reject);
  });
}

function writeFrom(threads, buffer, pages) {
  const parts = Array.from({ length: threads }, (_, t) => pages.filter((_, i) => i % threads === t));
  return Promise.all(parts.map((part) => runWorker(WRITER, { buffer, pages: part, pageWords: PAGE_WORDS })));
}

const sorted = (a) => Uint32Array.from(a).sort();

const PATHS = [
  { name: 'native path', options: { nativeResolvers: true } },
  { name: 'JS resolver', options: { nativeResolvers: false } },
  { name: 'reader thread', options: { directPoll: false } },
];

for (const { name, options } of PATHS) {
  test(`sync: dirty pages are exactly the pages written, by 4 threads, first touch or not (${name})`, async () => {
    const handler = await FaultHandler.create({ workers: 2, ...options });
    try {
      const region = await handler.map({ size: PAGES * PAGE, resolver: resolvers.pattern({ seed: SEED }), trackWrites: 'sync' });
      assert.equal(region.writeTracking, 'sync');
      assert.equal(region.tracksWrites, true);
      const words = new Uint32Array(region.buffer);
      const order = Array.from(permutation(PAGES, 19));
      for (const p of order.slice(0, PAGES / 2)) assert.equal(words[p * PAGE_WORDS], patternWord(SEED, p * PAGE_WORDS));
      assert.deepEqual(region.dirtyPages(), new Uint32Array(0), 'reading dirties nothing');
      const written = order.filter((_, i) => i % 3 === 1);
      await writeFrom(4, region.buffer, written);
      assert.deepEqual(region.dirtyPages(), sorted(written));
      for (const p of written) {
        assert.equal(words[p * PAGE_WORDS + 3], p + 1);
        assert.equal(words[p * PAGE_WORDS], patternWord(SEED, p * PAGE_WORDS));
      }
      assert.deepEqual(region.dirtyPages({ reset: true }), sorted(written));
      assert.deepEqual(region.dirtyPages(), new Uint32Array(0));
      // After a reset the same pages fault again: written once more, listed once more.
      const again = written.slice(0, 100);
      await writeFrom(2, region.buffer, again);
      assert.deepEqual(region.dirtyPages({ reset: true }), sorted(again));
      await writeFrom(1, region.buffer, [5, 6]);
      region.trackWrites();
      assert.deepEqual(region.dirtyPages(), new Uint32Array(0));
      await writeFrom(1, region.buffer, [6]);
      assert.deepEqual(region.dirtyPages(), Uint32Array.of(6), 'trackWrites() re-protected the pages');
      const stats = region.stats();
      assert.equal(stats.errors, 0);
      assert.equal(stats.poisoned, 0);
    } finally {
      assert.equal((await handler.close()).drained, true);
    }
  });
}

// Each writer pass writes every one of its pages, reading the reset counter
// before each write; it keeps, per page, the highest counter it saw. A write
// that read counter k came after reset k returned, so its page must be in an
// answer numbered above k.
const RACER = `
const { parentPort, workerData: { buffer, counter, pages, pageWords, passes, tag } } = require('node:worker_threads');
const words = new Int32Array(buffer);
const resets = new Int32Array(counter);
const maxK = new Int32Array(pages.length).fill(-1);
for (let pass = 0; pass < passes; pass++) {
  for (let i = 0; i < pages.length; i++) {
    const k = Atomics.load(resets, 0);
    words[pages[i] * pageWords + tag] = pass + 1;
    maxK[i] = k;
  }
}
parentPort.postMessage(maxK);`;

// The async mode (WP_ASYNC, PAGEMAP_SCAN) keeps the same promise: checked the same way.
for (const mode of ['sync', 'async']) test(`${mode}: resets racing 3 writer threads and a native toucher lose no write made after a reset`, async () => {
  const handler = await FaultHandler.create({ workers: 2 });
  try {
    const region = await handler.map({ size: PAGES * PAGE, resolver: resolvers.zero(), trackWrites: mode });
    assert.equal(region.writeTracking, mode);
    const counter = new SharedArrayBuffer(4);
    const resets = new Int32Array(counter);
    const order = Array.from(permutation(PAGES, 29));
    // Three threads on overlapping page sets (every page of the first half is written by two of them).
    const sets = [order.slice(0, 800), order.slice(400, 1200), order.slice(800, 1200).concat(order.slice(0, 400))];
    const racers = sets.map((pages, tag) =>
      runWorker(RACER, { buffer: region.buffer, counter, pages, pageWords: PAGE_WORDS, passes: 6, tag: tag + 2 }),
    );
    // Native threads writing the other pages once each, at their own pace.
    const tail = PAGES - 1536;
    const toucher = testing.touchPages(region.address + 1536 * PAGE, tail * PAGE, { write: true, threads: 2, order: 'random', latencies: false });
    let done = false;
    const all = Promise.all([Promise.all(racers), toucher]).finally(() => (done = true));
    const lastAnswer = new Int32Array(PAGES).fill(-1); // highest answer number listing each page
    const answered = new Uint8Array(PAGES);
    let n = 0;
    const take = () => {
      const pages = region.dirtyPages({ reset: true });
      n++;
      for (const p of pages) {
        lastAnswer[p] = n;
        answered[p] = 1;
      }
      Atomics.store(resets, 0, n);
    };
    while (!done) {
      take();
      await new Promise((r) => setImmediate(r));
    }
    const [maxKs] = await all;
    take();
    assert.ok(n > 3, `only ${n} resets raced the writers`);
    let checked = 0;
    sets.forEach((pages, t) => {
      pages.forEach((p, i) => {
        const k = maxKs[t][i];
        assert.ok(lastAnswer[p] > k, `page ${p}: written after reset ${k}, last listed in answer ${lastAnswer[p]}`);
        checked++;
      });
    });
    for (let p = 1536; p < PAGES; p++) assert.equal(answered[p], 1, `page ${p} (native toucher) never listed`);
    // Nothing listed that nobody wrote.
    const writtenSet = new Set([...sets.flat(), ...Array.from({ length: tail }, (_, i) => 1536 + i)]);
    for (let p = 0; p < PAGES; p++) if (answered[p]) assert.ok(writtenSet.has(p), `page ${p} listed, never written`);
    // Quiet now: the last answer took everything; the next write is seen again.
    assert.deepEqual(region.dirtyPages(), new Uint32Array(0));
    new Int32Array(region.buffer)[7 * PAGE_WORDS] = 1;
    assert.deepEqual(region.dirtyPages(), Uint32Array.of(7));
    // The racers' last pass is in memory.
    const words = new Int32Array(region.buffer);
    sets.forEach((pages, t) => pages.forEach((p) => assert.equal(words[p * PAGE_WORDS + t + 2], 6)));
    assert.ok(checked > 2000);
  } finally {
    await handler.close();
  }
});

test('sync: write faults are served while the main thread is blocked in Atomics.wait', async () => {
  const handler = await FaultHandler.create({ workers: 2 });
  try {
    const region = await handler.map({ size: 256 * PAGE, resolver: resolvers.zero(), trackWrites: 'sync' });
    const words = new Int32Array(region.buffer);
    for (let p = 0; p < 256; p++) assert.equal(words[p * PAGE_WORDS], 0); // resident, protected
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const w = new Worker(
      `const { workerData: { buffer, flag } } = require('node:worker_threads');
       const words = new Int32Array(buffer);
       for (let p = 0; p < 256; p += 2) words[p * ${PAGE_WORDS}] = p + 1;
       Atomics.store(flag, 0, 1);
       Atomics.notify(flag, 0);`,
      { eval: true, workerData: { buffer: region.buffer, flag } },
    );
    // Blocked here, the main thread cannot serve anything: the workers do.
    assert.equal(Atomics.wait(flag, 0, 0, 20_000), 'ok');
    await new Promise((r) => w.once('exit', r));
    const even = Uint32Array.from({ length: 128 }, (_, i) => i * 2);
    assert.deepEqual(region.dirtyPages(), even);
    for (const p of even) assert.equal(words[p * PAGE_WORDS], p + 1);
  } finally {
    await handler.close();
  }
});

test('trackWrites: true picks async where the kernel has WP_ASYNC, sync where not; async and sync regions side by side', async () => {
  const before = openFds();
  const handler = await FaultHandler.create({ workers: 2 });
  try {
    const granted = handler.features; // this machine: WP_ASYNC is granted on the handler's uffd
    const offered = [...granted, 'wp']; // what a new uffd may ask for
    const tracking = new WriteTracking();
    const withoutAsync = offered.filter((f) => f !== 'wp-async');
    assert.equal(tracking.modeFor(true, granted, offered, PAGE), granted.includes('wp-async') ? 'async' : 'sync');
    assert.equal(tracking.modeFor(true, withoutAsync, offered, PAGE), 'sync');
    assert.throws(() => tracking.modeFor('async', withoutAsync, offered, PAGE), {
      code: 'ERR_FAULTLINE_FEATURE_UNSUPPORTED',
      message: /WP_ASYNC.*trackWrites: 'sync'/,
    });
    assert.throws(() => tracking.modeFor('sync', offered, withoutAsync.filter((f) => f !== 'wp'), PAGE), {
      code: 'ERR_FAULTLINE_FEATURE_UNSUPPORTED',
    });
    const a = await handler.map({ size: 64 * PAGE, resolver: resolvers.zero(), trackWrites: true });
    const s = await handler.map({ size: 64 * PAGE, resolver: resolvers.zero(), trackWrites: 'sync' });
    assert.equal(a.writeTracking, 'async');
    assert.equal(s.writeTracking, 'sync');
    const plain = await handler.map({ size: 8 * PAGE, resolver: resolvers.zero() });
    assert.equal(plain.writeTracking, null);
    new Uint8Array(a.buffer)[3 * PAGE] = 1;
    new Uint8Array(s.buffer)[9 * PAGE] = 1;
    assert.deepEqual(a.dirtyPages(), Uint32Array.of(3));
    assert.deepEqual(s.dirtyPages(), Uint32Array.of(9));
    await s.unmap();
    // Unmapped (unregistered from the sync uffd): writes are plain memory now, nothing parks.
    new Uint8Array(s.buffer)[10 * PAGE] = 2;
    await assert.rejects(handler.map({ size: 16 * PAGE, resolver: resolvers.zero(), trackWrites: 'yes' }), {
      code: 'ERR_FAULTLINE_INVALID_ARGUMENT',
      message: /trackWrites must be true, false, 'async' or 'sync'/,
    });
    await assert.rejects(handler.map({ size: 16 * PAGE, resolver: resolvers.zero(), trackWrites: 'sync', install: 'move' }), {
      code: 'ERR_FAULTLINE_INVALID_ARGUMENT',
    });
    await assert.rejects(handler.map({ size: 16 * PAGE, resolver: resolvers.zero(), trackWrites: 'sync', maxResident: 8 * PAGE }), {
      code: 'ERR_FAULTLINE_INVALID_ARGUMENT',
    });
  } finally {
    assert.equal((await handler.close()).drained, true);
  }
  assert.equal(openFds(), before, 'both uffds closed');
});

test("sync on shared memory (backing 'memfd'): the page cache's pages are tracked too", async () => {
  const handler = await FaultHandler.create({ workers: 1 });
  try {
    const region = await handler.map({ size: 32 * PAGE, resolver: resolvers.pattern({ seed: SEED }), trackWrites: 'sync', backing: 'memfd' });
    const words = new Uint32Array(region.buffer);
    assert.equal(words[2 * PAGE_WORDS], patternWord(SEED, 2 * PAGE_WORDS));
    words[3 * PAGE_WORDS] = 7;
    words[30 * PAGE_WORDS + 1] = 8;
    assert.deepEqual(region.dirtyPages({ reset: true }), Uint32Array.of(3, 30));
    words[30 * PAGE_WORDS + 1] = 9;
    assert.deepEqual(region.dirtyPages(), Uint32Array.of(30));
    assert.equal(words[30 * PAGE_WORDS + 1], 9);
  } finally {
    await handler.close();
  }
});

test('dirty bitmap: faults set bits, a reset lists them in order and protects them as runs', () => {
  const bits = new Int32Array(createDirtyBitmap(70));
  const lifted = [];
  for (const p of [37, 31, 0, 32, 69, 36, 38]) serveWriteFault(bits, p, () => lifted.push(p));
  assert.deepEqual(lifted, [37, 31, 0, 32, 69, 36, 38], 'each fault lifts its protection once');
  assert.deepEqual(readDirty(bits, 70, false), Uint32Array.of(0, 31, 32, 36, 37, 38, 69), 'reading clears nothing');
  const runs = [];
  const listed = resetDirty(bits, 70, false, (first, count) => runs.push([first, count]));
  assert.deepEqual(listed, Uint32Array.of(0, 31, 32, 36, 37, 38, 69));
  assert.deepEqual(runs, [[0, 1], [31, 2], [36, 3], [69, 1]]);
  assert.deepEqual(readDirty(bits, 70, false), new Uint32Array(0));
  serveWriteFault(bits, 5, () => undefined);
  const all = [];
  assert.deepEqual(resetDirty(bits, 70, true, (first, count) => all.push([first, count])), Uint32Array.of(5));
  assert.deepEqual(all, [[0, 70]], 'trackWrites() protects the whole region');
  // A protect that fails keeps the pages dirty and releases the gate: the next fault is not held back.
  serveWriteFault(bits, 9, () => undefined);
  assert.throws(() => resetDirty(bits, 70, false, () => { throw new Error('EPERM'); }), /EPERM/);
  serveWriteFault(bits, 10, () => undefined);
  assert.deepEqual(readDirty(bits, 70, false), Uint32Array.of(9, 10));
});

test('dirty bitmap: a fault left inside the gate by a thread that died holds a reset back for a bounded time only', () => {
  const bits = new Int32Array(createDirtyBitmap(64));
  serveWriteFault(bits, 4, () => undefined);
  Atomics.add(bits, 0, 1); // word 0 counts faults inside the gate: one that never leaves
  const t0 = Date.now();
  assert.deepEqual(resetDirty(bits, 64, false, () => undefined), Uint32Array.of(4));
  assert.ok(Date.now() - t0 < 30_000, 'the reset went ahead');
  // The gate works as before afterwards.
  serveWriteFault(bits, 5, () => undefined);
  assert.deepEqual(resetDirty(bits, 64, false, () => undefined), Uint32Array.of(5));
});
