// Eviction with writeback (map maxResident + writeback): a region 4x larger
// than its budget is written and re-read in random order by several threads;
// every byte comes back as written, the resident set stays near the budget,
// and after flush() the file holds every write.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { FaultHandler, resolvers, patternWord } from '../dist/index.js';
import { permutation, tempDir, writePatternFile } from './helpers.mjs';

const PAGE = 4096;
const PAGES = 4096; // 16 MiB region
const BUDGET = PAGES / 4; // 4 MiB resident
const SEED = 808;
let tmp;

before(() => (tmp = tempDir('faultline-evict-')));
after(() => tmp.cleanup());

// Each thread: for its pages (random order) write two words, then re-read every one of them
// (another random order) and count what is not as written.
const THREAD = `
const { parentPort, workerData: { buffer, pages, seed } } = require('node:worker_threads');
const w = new Uint32Array(buffer);
for (const p of pages) { w[p * 1024 + 7] = (p ^ 0x5a5a5a5a) >>> 0; w[p * 1024 + 1000] = p + 1; }
let bad = 0;
const again = pages.slice().sort((a, b) => ((a * 2654435761) ^ seed) % 1000 - ((b * 2654435761) ^ seed) % 1000);
for (const p of again) if (w[p * 1024 + 7] !== ((p ^ 0x5a5a5a5a) >>> 0) || w[p * 1024 + 1000] !== p + 1) bad++;
parentPort.postMessage(bad);`;

test('4x over budget, 3 threads writing and re-reading in random order: every byte as written, resident near the budget, file complete after flush()', async () => {
  const file = `${tmp.dir}/array.bin`;
  writePatternFile(file, PAGES * PAGE, SEED);
  const handler = await FaultHandler.create({ workers: 2 });
  const errors = [];
  handler.on('error', (e) => errors.push(e));
  try {
    const region = await handler.map({
      size: PAGES * PAGE,
      resolver: resolvers.file(file, { writable: true }),
      maxResident: BUDGET * PAGE,
      writeback: true,
    });
    const order = Array.from(permutation(PAGES, 5));
    const parts = [0, 1, 2].map((t) => order.filter((_, i) => i % 3 === t));
    const bad = await Promise.all(
      parts.map((pages, t) => new Promise((resolve, reject) => {
        const w = new Worker(THREAD, { eval: true, workerData: { buffer: region.buffer, pages, seed: t } });
        w.once('message', resolve);
        w.once('error', reject);
      })),
    );
    assert.deepEqual(bad, [0, 0, 0], 'every page read back as written');
    // Untouched words still hold the file's original bytes.
    const words = new Uint32Array(region.buffer);
    for (const p of order.slice(0, 200)) assert.equal(words[p * 1024 + 3], patternWord(SEED, p * 1024 + 3), `page ${p}`);
    const ev = region.evictionStats();
    assert.equal(ev.evictor, 'native', 'a writable file is written back by the native evictor');
    assert.ok(ev.evicted >= PAGES - BUDGET, `evicted ${ev.evicted}`);
    assert.ok(ev.writtenBack > 0 && ev.writtenBack <= ev.evicted);
    // A soft ceiling: faults are never held back, so a few pages land between the evictor's looks.
    // Past a hard cap (budget + 1/8) faults wait for the evictor; a few land between its looks.
    assert.ok(ev.maxResidentSeen <= BUDGET * 1.25, `resident peaked at ${ev.maxResidentSeen} pages for a budget of ${BUDGET}`);

    await region.flush();
    const onDisk = new Uint32Array(readFileSync(file).buffer);
    let missing = 0;
    for (let p = 0; p < PAGES; p++) {
      if (onDisk[p * 1024 + 7] !== ((p ^ 0x5a5a5a5a) >>> 0) || onDisk[p * 1024 + 1000] !== p + 1) missing++;
      if (onDisk[p * 1024 + 3] !== patternWord(SEED, p * 1024 + 3)) missing++;
    }
    assert.equal(missing, 0, 'the file holds every write (and nothing else changed)');
    assert.equal(errors.length, 0, errors.map((e) => e.message).join('; '));
  } finally {
    await handler.close();
  }
});

test('without writeback an evicted page comes back as the resolver gives it; bad budgets are refused', async () => {
  const handler = await FaultHandler.create({ workers: 1 });
  try {
    const region = await handler.map({ size: 256 * PAGE, resolver: resolvers.pattern({ seed: SEED }), maxResident: 64 * PAGE });
    const w = new Uint32Array(region.buffer);
    w[5] = 0xdeadbeef; // page 0 written...
    await region.flush(); // ...and evicted without writeback
    assert.equal(w[5], patternWord(SEED, 5), 'the write is gone: no writeback asked');
    assert.equal(region.evictionStats().writtenBack, 0);

    const file = `${tmp.dir}/ro.bin`;
    writePatternFile(file, 64 * PAGE, 1);
    await assert.rejects(
      handler.map({ size: 64 * PAGE, resolver: resolvers.file(file), maxResident: 16 * PAGE, writeback: true }),
      (e) => e.code === 'ERR_FAULTLINE_INVALID_ARGUMENT' && /has no write\(offset, bytes\).*writable: true/.test(e.message),
    );
    for (const [opts, pattern] of [
      [{ maxResident: 16 * PAGE, evictTo: 16 * PAGE }, /evictTo .* must be below maxResident/],
      [{ writeback: true }, /need maxResident/],
      [{ maxResident: 16 * PAGE, trackWrites: true }, /trackWrites/],
      [{ maxResident: 1000 }, /multiple of the page size/],
    ]) {
      await assert.rejects(handler.map({ size: 64 * PAGE, resolver: resolvers.zero(), ...opts }), (e) => pattern.test(e.message), JSON.stringify(opts));
    }
  } finally {
    await handler.close();
  }
});

test('a failing write(): the run goes back into memory (nothing lost), an ERR_FAULTLINE_WRITEBACK_FAILED error says so, and flush() rejects with it', async () => {
  const handler = await FaultHandler.create({ workers: 1 });
  const errors = [];
  handler.on('error', (e) => errors.push(e));
  try {
    const flag = new SharedArrayBuffer(4);
    Atomics.store(new Int32Array(flag), 0, 1);
    const store = new SharedArrayBuffer(256 * PAGE);
    const has = new SharedArrayBuffer(256);
    const resolver = resolvers.custom(new URL('./fixtures/refusing-store-resolver.mjs', import.meta.url), { seed: SEED, flag, store, has });
    const region = await handler.map({ size: 256 * PAGE, resolver, maxResident: 64 * PAGE, writeback: true });
    assert.equal(region.evictionStats().evictor, 'js', 'a custom write() runs in the JS evictor');
    const w = new Uint32Array(region.buffer);
    for (let p = 0; p < 128; p++) w[p * 1024 + 9] = p + 7; // over budget: eviction tries, the store refuses
    const t0 = Date.now();
    while (!errors.some((e) => e.code === 'ERR_FAULTLINE_WRITEBACK_FAILED') && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
    assert.ok(errors.some((e) => e.code === 'ERR_FAULTLINE_WRITEBACK_FAILED' && /stay in memory/.test(e.message)), errors.map((e) => e.message).join());
    for (let p = 0; p < 128; p++) assert.equal(w[p * 1024 + 9], p + 7, `page ${p} kept its write`);
    // A flush while the store still refuses cannot write everything: it says so instead of resolving.
    await assert.rejects(region.flush(), (err) => err.code === 'ERR_FAULTLINE_WRITEBACK_FAILED' && /stay in memory/.test(err.message));
    Atomics.store(new Int32Array(flag), 0, 0); // the store recovers: eviction resumes and writes back
    await region.flush();
    for (let p = 0; p < 128; p++) assert.equal(w[p * 1024 + 9], p + 7, `page ${p} after writeback and fault-in`);
    assert.ok(region.evictionStats().writtenBack >= 128);
  } finally {
    await handler.close();
  }
});

// Two threads fault on one page: the first fault's resolver reads the store and then takes its
// time; the second is served at once, its thread writes the page, and flush() moves the page out
// and writes it back. When the first answer finally comes, its bytes are older than the store's:
// installing them would put the page back as it was before the write. The install must see that
// a run went out since the read and re-deliver instead.
const TOUCH = `
const { parentPort, workerData: { buffer, at, value } } = require('node:worker_threads');
const w = new Uint32Array(buffer);
if (value === undefined) parentPort.postMessage(w[at]);
else { w[at] = value; parentPort.postMessage(value); }`;

test('a slow answer read before a page was written and moved out is not installed over the write', async () => {
  const handler = await FaultHandler.create({ workers: 2, nativeResolvers: false });
  const errors = [];
  handler.on('error', (e) => errors.push(e));
  try {
    const shared = { store: new SharedArrayBuffer(64 * PAGE), has: new SharedArrayBuffer(64), release: new SharedArrayBuffer(4), calls: new SharedArrayBuffer(4) };
    const resolver = resolvers.custom(new URL('./fixtures/slow-first-read-resolver.mjs', import.meta.url), { seed: SEED, ...shared });
    const region = await handler.map({ size: 64 * PAGE, resolver, maxResident: 16 * PAGE, writeback: true });
    const P = 9;
    const at = P * 1024 + 3;
    const touch = (value) => new Promise((resolve, reject) => {
      const w = new Worker(TOUCH, { eval: true, workerData: { buffer: region.buffer, at, value } });
      w.once('message', resolve);
      w.once('error', reject);
    });
    const calls = new Int32Array(shared.calls);
    const reader = touch(undefined); // its fault's resolver reads, then waits
    for (let t0 = Date.now(); Atomics.load(calls, 0) === 0 && Date.now() - t0 < 5000; ) await new Promise((r) => setTimeout(r, 2));
    assert.equal(Atomics.load(calls, 0), 1, 'the first fault reached the resolver');
    assert.equal(await touch(0xfeedf00d), 0xfeedf00d); // a second fault on the page, served at once; then the write
    // The second install wakes the reader too; it reads the page before or after the writer's store lands.
    const seen = await reader;
    assert.ok(seen === 0xfeedf00d || seen === patternWord(SEED, at), `the reader was woken by the second install and read ${seen}`);
    await region.flush(); // the page goes out, the write to the store
    assert.equal(new Uint32Array(shared.store)[at], 0xfeedf00d, 'written back');
    Atomics.store(new Int32Array(shared.release), 0, 1); // the first answer comes, with the old bytes
    await handler.idle();
    assert.equal(new Uint32Array(region.buffer)[at], 0xfeedf00d, 'the page holds the write, not the slow answer\'s bytes');
    assert.equal(new Uint32Array(region.buffer)[at + 1], patternWord(SEED, at + 1));
    assert.ok(region.stats().retries >= 1, JSON.stringify(region.stats()));
    assert.equal(errors.length, 0, errors.map((e) => e.message).join('; '));
  } finally {
    await handler.close();
  }
});
