// Write tracking (map trackWrites, UFFD_FEATURE_WP_ASYNC + PAGEMAP_SCAN): the
// dirty set is exactly the pages written — first touches that are writes,
// writes to pages already read, from several threads at once, on the native
// path and in JS — and a reset while writers run loses no write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { FaultHandler, resolvers, patternWord } from '../dist/index.js';
import { permutation } from './helpers.mjs';

const PAGE = 4096;
const PAGES = 4096; // 16 MiB
const SEED = 31;

// Writes one word into each listed page (value: page index + 1), then reports.
const WRITER = `
const { parentPort, workerData: { buffer, pages, pageWords } } = require('node:worker_threads');
const words = new Uint32Array(buffer);
for (const p of pages) words[p * pageWords + 3] = p + 1;
parentPort.postMessage('done');`;

function writeFrom(threads, buffer, pages) {
  const parts = Array.from({ length: threads }, (_, t) => pages.filter((_, i) => i % threads === t));
  return Promise.all(
    parts.map(
      (part) =>
        new Promise((resolve, reject) => {
          const w = new Worker(WRITER, { eval: true, workerData: { buffer, pages: part, pageWords: PAGE / 4 } });
          w.once('message', () => w.terminate().then(resolve));
          w.once('error', reject);
        }),
    ),
  );
}

const sorted = (a) => Uint32Array.from(a).sort();

for (const nativeResolvers of [true, false]) {
  test(`dirty pages are exactly the pages written, by 4 threads, first touch or not (${nativeResolvers ? 'native path' : 'JS'})`, async () => {
    const handler = await FaultHandler.create({ workers: 2, nativeResolvers });
    try {
      const region = await handler.map({ size: PAGES * PAGE, resolver: resolvers.pattern({ seed: SEED }), trackWrites: true });
      const words = new Uint32Array(region.buffer);
      const order = Array.from(permutation(PAGES, 17));
      // Half of the pages are read first (installed, clean); then a quarter of all pages are written:
      // some of them read before, some never touched (the write is their first touch).
      for (const p of order.slice(0, PAGES / 2)) assert.equal(words[p * (PAGE / 4)], patternWord(SEED, p * (PAGE / 4)));
      assert.deepEqual(region.dirtyPages(), new Uint32Array(0), 'reading dirties nothing');
      const written = order.filter((_, i) => i % 4 === 1);
      await writeFrom(4, region.buffer, written);
      assert.deepEqual(region.dirtyPages(), sorted(written));
      // The bytes: written word on top of the resolver's page.
      for (const p of written) {
        assert.equal(words[p * (PAGE / 4) + 3], p + 1);
        assert.equal(words[p * (PAGE / 4)], patternWord(SEED, p * (PAGE / 4)));
      }
      // Reading does not reset; reset does, once.
      assert.deepEqual(region.dirtyPages(), sorted(written));
      assert.deepEqual(region.dirtyPages({ reset: true }), sorted(written));
      assert.deepEqual(region.dirtyPages(), new Uint32Array(0));
      // trackWrites() forgets earlier writes.
      await writeFrom(1, region.buffer, [5, 6]);
      region.trackWrites();
      assert.deepEqual(region.dirtyPages(), new Uint32Array(0));
      assert.equal(region.stats().errors, 0);
    } finally {
      await handler.close();
    }
  });
}

test('reset while 3 threads keep writing: every written page is in an answer, none is invented', async () => {
  const handler = await FaultHandler.create({ workers: 2 });
  try {
    const region = await handler.map({ size: PAGES * PAGE, resolver: resolvers.zero(), trackWrites: true });
    const written = Array.from(permutation(PAGES, 23)).slice(0, 3000);
    const WRITERS = 3;
    const writers = writeFrom(WRITERS, region.buffer, written);
    const seen = new Map();
    let answers = 0;
    let mostRepeats = 0;
    const take = () => {
      let repeats = 0;
      for (const p of region.dirtyPages({ reset: true })) {
        if (seen.has(p)) repeats++;
        seen.set(p, (seen.get(p) ?? 0) + 1);
      }
      mostRepeats = Math.max(mostRepeats, repeats);
      answers++;
    };
    let done = false;
    void writers.then(() => (done = true));
    while (!done) {
      take();
      await new Promise((r) => setImmediate(r));
    }
    await writers;
    take();
    assert.deepEqual(Uint32Array.from(seen.keys()).sort(), sorted(written), `${answers} resets`);
    // A write racing a reset can be listed again: the kernel unprotects the page, the reset lists
    // and protects it, the store retries and unprotects it once more. That can repeat while the
    // store is still retrying, so a page has no fixed bound on its answers; but each writer has one
    // store in flight at a time, so one answer repeats at most one page per writer. A reset that
    // failed to protect would repeat every page written before it.
    assert.ok(mostRepeats <= WRITERS, `an answer repeated ${mostRepeats} pages already listed; at most ${WRITERS} (one per writer) can be`);
  } finally {
    await handler.close();
  }
});

test('misuse: dirtyPages() without trackWrites, trackWrites on huge pages', async () => {
  const handler = await FaultHandler.create({ workers: 1 });
  try {
    const plain = await handler.map({ size: 16 * PAGE, resolver: resolvers.zero() });
    assert.throws(() => plain.dirtyPages(), { code: 'ERR_FAULTLINE_NOT_TRACKING' });
    assert.throws(() => plain.trackWrites(), { code: 'ERR_FAULTLINE_NOT_TRACKING' });
    await assert.rejects(handler.map({ size: 16 * PAGE, resolver: resolvers.zero(), trackWrites: 'yes' }), { code: 'ERR_FAULTLINE_INVALID_ARGUMENT' });
  } finally {
    await handler.close();
  }
});
