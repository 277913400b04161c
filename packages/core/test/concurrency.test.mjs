// Two worker_threads and the main thread fault on the same pages at once: all
// see the right bytes, and each page is installed exactly once (the losers of
// each race get EEXIST, which is counted and woken, not an error).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { FaultHandler, resolvers, patternWord } from '../dist/index.js';

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
