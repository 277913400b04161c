// Readahead in evicting regions (map maxResident + readahead, native path and
// native evictor): a scan in order is filled a window per fault, random
// faults one page each, every byte comes back as written while the evictor
// moves pages out under the windows, the file holds every write after
// flush(), and the combinations where windows would be unsafe are refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { FaultHandler, resolvers, patternWord } from '../dist/index.js';
import { permutation, tempDir, writePatternFile } from './helpers.mjs';

const PAGE = 4096;
const PAGES = 4096; // 16 MiB region
const BUDGET = PAGES / 4; // 4 MiB resident
const READAHEAD = 16;
const SEED = 913;
let tmp;

before(() => (tmp = tempDir('faultline-evict-ra-')));
after(() => tmp.cleanup());

async function evictingFile(handler, name, readahead = READAHEAD) {
  const file = `${tmp.dir}/${name}.bin`;
  writePatternFile(file, PAGES * PAGE, SEED);
  const region = await handler.map({
    size: PAGES * PAGE,
    resolver: resolvers.file(file, { writable: true }),
    maxResident: BUDGET * PAGE,
    writeback: true,
    readahead,
  });
  return { file, region };
}

function fileWords(file) {
  return new Uint32Array(readFileSync(file).buffer);
}

test('a scan in order takes a window per fault, random faults one page; every byte as written, the file complete after flush()', async () => {
  const handler = await FaultHandler.create({ workers: 2 });
  const errors = [];
  handler.on('error', (e) => errors.push(e));
  try {
    const { file, region } = await evictingFile(handler, 'scan');
    const w = new Uint32Array(region.buffer);
    // Pass 1, in order: every page read (the file's bytes) and written.
    for (let p = 0; p < PAGES; p++) {
      assert.equal(w[p * 1024 + 2], patternWord(SEED, p * 1024 + 2), `page ${p} from the file`);
      w[p * 1024 + 11] = p * 7 + 3;
    }
    // The install counters are bumped just after the install that woke the thread: let the last one land.
    await handler.idle();
    const scan = region.stats();
    // Without windows that would be one fault per page; with them about one per READAHEAD pages
    // (the first of a scan and any that meets the run being moved out take one page).
    assert.ok(scan.faults <= PAGES / 4, `${scan.faults} faults for ${PAGES} pages read in order`);
    assert.ok(scan.pagesInstalled >= PAGES, `${scan.pagesInstalled} pages installed`);
    // Pass 2, random order: one page per fault (pages nobody asked for would evict pages in use).
    const order = Array.from(permutation(PAGES, 9));
    for (const p of order) {
      assert.equal(w[p * 1024 + 11], p * 7 + 3, `page ${p} read back after eviction`);
      w[p * 1024 + 12] = p ^ 0x3c3c;
    }
    await handler.idle();
    const random = region.stats();
    const faults = random.faults - scan.faults;
    const installed = random.pagesInstalled - scan.pagesInstalled;
    assert.ok(faults > PAGES / 2, `${faults} faults in the random pass`);
    assert.ok(installed <= faults + READAHEAD * 4, `random pass: ${installed} pages installed for ${faults} faults`);
    const ev = region.evictionStats();
    assert.equal(ev.evictor, 'native');
    assert.ok(ev.maxResidentSeen <= BUDGET * 1.25, `resident peaked at ${ev.maxResidentSeen} pages for a budget of ${BUDGET}`);

    await region.flush();
    const onDisk = fileWords(file);
    let wrong = 0;
    for (let p = 0; p < PAGES; p++) {
      if (onDisk[p * 1024 + 11] !== p * 7 + 3 || onDisk[p * 1024 + 12] !== (p ^ 0x3c3c)) wrong++;
      if (onDisk[p * 1024 + 2] !== patternWord(SEED, p * 1024 + 2)) wrong++;
    }
    assert.equal(wrong, 0, 'the file holds every write and nothing else changed');
    assert.equal(region.stats().errors, 0);
    assert.equal(errors.length, 0, errors.map((e) => e.message).join('; '));
  } finally {
    await handler.close();
  }
});

// A thread visits every page `rounds` times, in order (sweep: readahead windows) or in a random
// order of its own each round (one page per fault), and on each visit checks that its word holds
// what it wrote on the previous round, then writes the round's value. The random writers keep
// written pages scattered through the region, so the sweeper's windows meet them while the
// evictor moves runs out: a window that put back the file's old bytes over a write still on its
// way to the file would show as a wrong word, now or in the file after flush().
const VISITOR = `
const { parentPort, workerData: { buffer, pages, thread, rounds, inOrder } } = require('node:worker_threads');
const w = new Uint32Array(buffer);
const value = (p, round) => ((p * 2654435761) ^ (thread << 24) ^ round) >>> 0;
const order = Array.from({ length: pages }, (_, i) => i);
let seed = 0x9e3779b9 ^ thread;
const next = () => ((seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0));
let bad = 0;
for (let round = 1; round <= rounds; round++) {
  if (!inOrder) for (let i = pages - 1; i > 0; i--) { const j = next() % (i + 1); [order[i], order[j]] = [order[j], order[i]]; }
  for (const p of order) {
    const at = p * 1024 + 100 + thread;
    if (round > 1 && w[at] !== value(p, round - 1)) bad++;
    w[at] = value(p, round);
  }
}
parentPort.postMessage(bad);`;

test('a sweep in order and 2 random writers while the evictor runs: no window puts back bytes older than a write', async () => {
  const handler = await FaultHandler.create({ workers: 2 });
  const errors = [];
  handler.on('error', (e) => errors.push(e));
  try {
    // Wide windows: a longer read between the look at the marker and the install.
    const { file, region } = await evictingFile(handler, 'sweeps', 64);
    const THREADS = 3; // thread 0 sweeps, 1 and 2 write at random
    const ROUNDS = 6;
    const bad = await Promise.all(
      Array.from({ length: THREADS }, (_, thread) => new Promise((resolve, reject) => {
        const workerData = { buffer: region.buffer, pages: PAGES, thread, rounds: ROUNDS, inOrder: thread === 0 };
        const w = new Worker(VISITOR, { eval: true, workerData });
        w.once('message', resolve);
        w.once('error', reject);
      })),
    );
    assert.deepEqual(bad, [0, 0, 0], 'every word read back as its thread last wrote it');
    const value = (p, thread, round) => ((p * 2654435761) ^ (thread << 24) ^ round) >>> 0;
    await handler.idle();
    const ev = region.evictionStats();
    assert.ok(ev.evicted >= PAGES - BUDGET, `evicted ${ev.evicted}`);
    assert.ok(region.stats().pagesInstalled > region.stats().faults, `windows were used: ${JSON.stringify(region.stats())}`);
    await region.flush();
    const onDisk = fileWords(file);
    let wrong = 0;
    for (let p = 0; p < PAGES; p++) {
      for (let t = 0; t < THREADS; t++) if (onDisk[p * 1024 + 100 + t] !== value(p, t, ROUNDS)) wrong++;
      if (onDisk[p * 1024 + 99] !== patternWord(SEED, p * 1024 + 99)) wrong++;
    }
    assert.equal(wrong, 0, 'the file holds every last write and nothing else changed');
    assert.equal(errors.length, 0, errors.map((e) => e.message).join('; '));
  } finally {
    await handler.close();
  }
});

test('readahead with maxResident where the windows cannot exclude the evictor is refused, naming the fix', async () => {
  const custom = resolvers.custom(new URL('./fixtures/refusing-store-resolver.mjs', import.meta.url), {
    seed: SEED, flag: new SharedArrayBuffer(4), store: new SharedArrayBuffer(64 * PAGE), has: new SharedArrayBuffer(64),
  });
  const handler = await FaultHandler.create({ workers: 1 });
  try {
    await assert.rejects(handler.map({ size: 64 * PAGE, resolver: custom, maxResident: 16 * PAGE, readahead: 4 }), (e) =>
      e.code === 'ERR_FAULTLINE_INVALID_ARGUMENT' && /built-in resolver the native fast path serves.*readahead: 1/.test(e.message));
    await assert.rejects(handler.map({ size: 64 * PAGE, resolver: custom, maxResident: 16 * PAGE, writeback: true, readahead: 4 }), (e) =>
      e.code === 'ERR_FAULTLINE_INVALID_ARGUMENT' && /readahead: 1/.test(e.message));
    // Nothing was left behind by the refusals: the handler maps and serves as before.
    const plain = await handler.map({ size: 64 * PAGE, resolver: resolvers.pattern({ seed: SEED }), maxResident: 16 * PAGE, readahead: 4 });
    assert.equal(new Uint32Array(plain.buffer)[1024 * 40 + 1], patternWord(SEED, 1024 * 40 + 1));
    await plain.unmap();
  } finally {
    await handler.close();
  }
  const jsOnly = await FaultHandler.create({ workers: 1, nativeResolvers: false });
  try {
    await assert.rejects(jsOnly.map({ size: 64 * PAGE, resolver: resolvers.zero(), maxResident: 16 * PAGE, readahead: 4 }), (e) =>
      e.code === 'ERR_FAULTLINE_INVALID_ARGUMENT' && /nativeResolvers: true/.test(e.message));
  } finally {
    await jsOnly.close();
  }
});
