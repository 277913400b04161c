// Concurrency, content checked: two worker_threads and the main thread fault
// on the same pages at once (each page installed exactly once: the losers of
// each race get EEXIST, counted and woken, not an error); and many threads on
// many regions served natively and in JS, in both ways the leader waits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { writeFileSync } from 'node:fs';
import native from '@faultline/native';
import testing from '@faultline/native/testing';
import { FaultHandler, resolvers, patternWord } from '../dist/index.js';
import { tempDir } from './helpers.mjs';

const PAGES = 8192; // 32 MiB
const SEED = 4242;

// Each toucher waits on a start gate, then reads the first word of every page
// and counts mismatches against the pattern.
const TOUCHER = `
const { parentPort, workerData } = require('node:worker_threads');
const { buffer, gate, pages, pageWords, expected } = workerData;
const g = new Int32Array(gate);
Atomics.add(g, 1, 1);
Atomics.wait(g, 0, 0);
const words = new Uint32Array(buffer);
let bad = 0;
for (let p = 0; p < pages; p++) if (words[p * pageWords] !== expected[p]) bad++;
parentPort.postMessage(bad);
`;

test('main thread + 2 worker_threads fault on the same pages: bytes right, one install per page', async () => {
  const handler = await FaultHandler.create({ workers: 2 });
  try {
    const region = await handler.map({ size: PAGES * 4096, resolver: resolvers.pattern({ seed: SEED }) });
    const pageWords = region.pageSize / 4;
    const expected = new Uint32Array(PAGES);
    for (let p = 0; p < PAGES; p++) expected[p] = patternWord(SEED, p * pageWords);
    const gate = new SharedArrayBuffer(8);
    const g = new Int32Array(gate);
    const workers = [0, 1].map(
      () => new Worker(TOUCHER, { eval: true, workerData: { buffer: region.buffer, gate, pages: PAGES, pageWords, expected } }),
    );
    const results = workers.map((w) => new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    }));
    while (Atomics.load(g, 1) < 2) await new Promise((r) => setTimeout(r, 1));
    Atomics.store(g, 0, 1);
    Atomics.notify(g, 0);
    const words = new Uint32Array(region.buffer);
    let bad = 0;
    for (let p = 0; p < PAGES; p++) if (words[p * pageWords] !== expected[p]) bad++;
    assert.deepEqual(await Promise.all(results), [0, 0], 'worker threads saw wrong bytes');
    assert.equal(bad, 0, 'main thread saw wrong bytes');
    await Promise.all(workers.map((w) => w.terminate()));
    // Every word of every page, not only the first.
    for (let i = 0; i < words.length; i += 97) assert.equal(words[i], patternWord(SEED, i));
    await handler.idle();
    const s = region.stats();
    assert.equal(s.pagesInstalled, PAGES, 'each page must be installed exactly once');
    assert.equal(s.errors, 0);
    assert.ok(s.faults >= PAGES, `faults ${s.faults} < pages`);
    assert.equal(s.faults - PAGES, s.eexist + s.retries, 'every extra fault is an EEXIST (or a retry) race');
  } finally {
    await handler.close();
  }
});

// Many faulting threads, several workers, regions served by the native path
// (pattern, file, zero, readahead) and by a JS resolver at once, in both modes
// of the leader (the own uffd alone: blocking read; with an adopted uffd: epoll):
// every byte right, every page installed once.

const PS = native.pageSize();

async function hammer(handler, regions) {
  // 4 native toucher threads per region, all regions at once, random order.
  await Promise.all(regions.map((r) => testing.touchPages(r.region.address, r.region.size, { order: 'random', seed: 9, threads: 4 })));
  for (const r of regions) {
    const bytes = new Uint8Array(r.region.buffer);
    for (let i = 0; i < bytes.length; i += 331) if (bytes[i] !== r.expect(i)) assert.fail(`${r.name}: byte ${i} is ${bytes[i]}, expected ${r.expect(i)}`);
  }
  assert.equal(await handler.idle(), true);
  for (const r of regions) {
    const s = r.region.stats();
    assert.equal(s.errors, 0, r.name);
    assert.equal(s.pagesInstalled, r.region.size / PS, `${r.name}: each page installed once`);
  }
}

test('4 workers, 16 faulting threads, native and JS resolvers, readahead: bytes right in both leader modes', async () => {
  const { dir, cleanup } = tempDir();
  const handler = await FaultHandler.create({ workers: 4 });
  try {
    const pages = 1024;
    const file = `${dir}/data.bin`;
    const fileBytes = new Uint8Array(pages * PS).map((_, i) => (i * 7 + 3) & 0xff);
    writeFileSync(file, fileBytes);
    const patternByteAt = (seed) => (i) => (patternWord(seed, Math.floor(i / 4)) >>> ((i % 4) * 8)) & 0xff;
    const make = async (name, resolver, expect, readahead = 1) => ({
      name,
      expect,
      region: await handler.map({ size: pages * PS, resolver, readahead, name }),
    });
    const jsResolver = resolvers.custom(new URL('./fixtures/failing-resolver.mjs', import.meta.url), { seed: 31, failPages: [] });
    const own = [
      await make('pattern', resolvers.pattern({ seed: 5 }), patternByteAt(5)),
      await make('file', resolvers.file(file), (i) => fileBytes[i]),
      await make('zero', resolvers.zero(), () => 0),
      await make('readahead', resolvers.pattern({ seed: 6 }), patternByteAt(6), 8),
      await make('js', jsResolver, patternByteAt(31)),
    ];
    await hammer(handler, own);
    const natively = handler.stats().workers.nativeServed;
    assert.ok(natively > 0, 'the built-in resolvers were served natively');

    // An adopted uffd: the leader now waits in epoll over both.
    const fd = native.uffdCreate();
    native.uffdApi(fd, 0);
    const peer = native.mapAnonymous(pages * PS);
    native.uffdRegister(fd, peer.address, peer.length, native.constants.UFFDIO_REGISTER_MODE_MISSING);
    const adopted = await handler.adopt(fd, { regions: [{ address: peer.address, size: peer.length, resolver: resolvers.pattern({ seed: 8 }) }] });
    const second = [
      await make('pattern-2', resolvers.pattern({ seed: 11 }), patternByteAt(11)),
      await make('js-2', jsResolver, patternByteAt(31)),
      { name: 'adopted', expect: patternByteAt(8), region: { address: peer.address, size: peer.length, buffer: peer.buffer, stats: () => adopted.stats()[0] } },
    ];
    await hammer(handler, second);
    assert.ok(handler.stats().workers.nativeServed > natively, 'epoll mode serves natively too');
    await adopted.close();
  } finally {
    await handler.close();
    cleanup();
  }
});
