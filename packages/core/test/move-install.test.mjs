// install: 'move' (UFFDIO_MOVE of the worker's scratch pages into the region
// instead of UFFDIO_COPY): the bytes, the counts (moved = pages installed),
// the scratch refilled after a move (never another fault's bytes), the
// fall-backs to COPY, and what is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FaultHandler, FaultlineError, resolvers, patternWord } from '../dist/index.js';
import { permutation, tempDir, writePatternFile } from './helpers.mjs';

const PAGE = 4096;
const WORDS = PAGE / 4;
const SEED = 77;

function expectPattern(region, seed, pages) {
  const words = new Uint32Array(region.buffer);
  for (const p of permutation(pages, 3)) {
    for (let i = p * WORDS; i < (p + 1) * WORDS; i += 67) assert.equal(words[i], patternWord(seed, i), `page ${p} word ${i}`);
  }
}

for (const nativeResolvers of [true, false]) {
  for (const readahead of [1, 16]) {
    test(`every page moved, none copied: pattern, readahead ${readahead}, random order (${nativeResolvers ? 'native path' : 'JS'})`, async () => {
      const handler = await FaultHandler.create({ workers: 2, nativeResolvers });
      try {
        const pages = 512;
        const region = await handler.map({ size: pages * PAGE, resolver: resolvers.pattern({ seed: SEED }), readahead, install: 'move' });
        expectPattern(region, SEED, pages);
        assert.ok(await handler.idle());
        const s = region.stats();
        assert.equal(s.pagesInstalled, pages);
        assert.equal(s.moved, pages);
        assert.equal(s.errors + s.zeroFills, 0);
        await region.unmap();
      } finally {
        await handler.close();
      }
    });
  }
}

test('an async resolver, several faults in flight: each scratch is moved out and refilled', async () => {
  const handler = await FaultHandler.create({ workers: 2, maxInflight: 8 });
  try {
    const pages = 64;
    const region = await handler.map({
      size: pages * PAGE,
      resolver: resolvers.custom(new URL('./fixtures/slow-resolver.mjs', import.meta.url), { ms: 2 }),
      readahead: 2,
      install: 'move',
    });
    // Four threads fault at once (worker threads reading the shared buffer).
    const { Worker } = await import('node:worker_threads');
    await Promise.all(
      [0, 1, 2, 3].map(
        (t) =>
          new Promise((resolve, reject) => {
            const w = new Worker(
              `const { parentPort, workerData: { buffer, t, pages, words } } = require('node:worker_threads');
               const v = new Uint32Array(buffer);
               for (let p = t; p < pages; p += 4) void v[p * words];
               parentPort.postMessage('done');`,
              { eval: true, workerData: { buffer: region.buffer, t, pages, words: WORDS } },
            );
            w.once('message', () => w.terminate().then(resolve));
            w.once('error', reject);
          }),
      ),
    );
    expectPattern(region, 0, pages);
    // (idle() does not settle after async resolutions, on main too: wait for the counters instead.)
    for (let i = 0; i < 200 && region.stats().pagesInstalled < pages; i++) await new Promise((r) => setTimeout(r, 5));
    const s = region.stats();
    assert.equal(s.moved, pages);
    assert.equal(s.pagesInstalled, pages);
    await region.unmap();
  } finally {
    await handler.close();
  }
});

test('a resolver that writes nothing installs zeros, never the bytes a moved-out scratch held before', async () => {
  const handler = await FaultHandler.create({ workers: 1, nativeResolvers: false });
  try {
    // Pattern pages first: they pass through the worker's scratch and are moved out of it.
    const first = await handler.map({ size: 8 * PAGE, resolver: resolvers.pattern({ seed: SEED }), readahead: 4, install: 'move' });
    expectPattern(first, SEED, 8);
    const lazy = await handler.map({
      size: 8 * PAGE,
      resolver: resolvers.custom(new URL('./fixtures/lazy-resolver.mjs', import.meta.url), { claim: 'filled' }),
      readahead: 4,
      install: 'move',
    });
    const bytes = new Uint8Array(lazy.buffer);
    assert.equal(bytes.findIndex((b) => b !== 0), -1);
    assert.ok(await handler.idle());
    // { filled: one page } of a 4-page run: one page moved per fault, the rest of the scratch stays.
    assert.equal(lazy.stats().moved, 8);
    assert.equal(lazy.stats().faults, 8);
    await first.unmap();
    await lazy.unmap();
  } finally {
    await handler.close();
  }
});

test("bytes a resolver returns as { source } (not the scratch) are copied, whatever install says", async () => {
  const tmp = tempDir();
  const handler = await FaultHandler.create({ workers: 1, nativeResolvers: false });
  try {
    const file = join(tmp.dir, 'snap.bin');
    writePatternFile(file, 32 * PAGE, SEED);
    const region = await handler.map({ size: 32 * PAGE, resolver: resolvers.snapshot(file), readahead: 4, install: 'move' });
    expectPattern(region, SEED, 32);
    assert.ok(await handler.idle());
    assert.equal(region.stats().pagesInstalled, 32);
    assert.equal(region.stats().moved, 0);
    await region.unmap();
  } finally {
    await handler.close();
    tmp.cleanup();
  }
});

test("the handler's install: 'move' applies where pages can move; shared memory and write-tracked regions copy", async () => {
  const handler = await FaultHandler.create({ workers: 2, install: 'move' });
  try {
    const plain = await handler.map({ size: 16 * PAGE, resolver: resolvers.pattern({ seed: SEED }) });
    const shared = await handler.map({ size: 16 * PAGE, resolver: resolvers.pattern({ seed: SEED }), backing: 'memfd' });
    const tracked = await handler.map({ size: 16 * PAGE, resolver: resolvers.pattern({ seed: SEED }), trackWrites: true });
    const copied = await handler.map({ size: 16 * PAGE, resolver: resolvers.pattern({ seed: SEED }), install: 'copy' });
    for (const r of [plain, shared, tracked, copied]) expectPattern(r, SEED, 16);
    assert.ok(await handler.idle());
    assert.deepEqual(
      [plain, shared, tracked, copied].map((r) => [r.stats().pagesInstalled, r.stats().moved]),
      [[16, 16], [16, 0], [16, 0], [16, 0]],
    );
    new Uint32Array(tracked.buffer)[5 * WORDS] = 1;
    assert.deepEqual(tracked.dirtyPages(), Uint32Array.from([5]));
  } finally {
    await handler.close();
  }
});

test("install: 'move' where pages cannot move is refused at map(), with the reason", async () => {
  await assert.rejects(FaultHandler.create({ install: 'zero-copy' }), /install must be one of 'copy', 'move', got string 'zero-copy'/);
  const handler = await FaultHandler.create({ workers: 1 });
  try {
    const refuse = (options, pattern) =>
      assert.rejects(handler.map({ size: 4 * PAGE, resolver: resolvers.zero(), install: 'move', ...options }), (err) => {
        assert.ok(err instanceof FaultlineError);
        assert.equal(err.code, 'ERR_FAULTLINE_INVALID_ARGUMENT');
        assert.match(err.message, pattern);
        return true;
      });
    await refuse({ backing: 'memfd' }, /install: 'move' does not work with backing 'memfd' \(UFFDIO_MOVE moves private anonymous pages only\); use install: 'copy'/);
    await refuse({ backing: 'shmem' }, /backing 'shmem'/);
    await refuse({ trackWrites: true }, /trackWrites \(UFFDIO_MOVE cannot install write-protected\)/);
  } finally {
    await handler.close();
  }
});
