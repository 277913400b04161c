// Which evictor runs (native for a writable file or no writeback, JS for a
// custom write() or nativeResolvers: false), and the native evictor's
// failure path: a pwrite the file system refuses (a full tmpfs) moves the
// run back into memory with every byte as written, says so with
// ERR_FAULTLINE_WRITEBACK_FAILED, and the writes reach the file once there
// is room again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { FaultHandler, resolvers, patternWord } from '../dist/index.js';
import { tempDir, writePatternFile } from './helpers.mjs';

const PAGE = 4096;
const SEED = 77;
let tmp;

before(() => (tmp = tempDir('faultline-evict-native-')));
after(() => tmp.cleanup());

/** Writes a word into each of `pages` pages, flushes, and returns what the file then holds at those words. */
async function roundTrip(handler, file, pages) {
  const region = await handler.map({ size: pages * PAGE, resolver: resolvers.file(file, { writable: true }), maxResident: 16 * PAGE, writeback: true });
  const w = new Uint32Array(region.buffer);
  for (let p = 0; p < pages; p++) w[p * 1024 + 5] = p * 3 + 1;
  for (let p = 0; p < pages; p++) assert.equal(w[p * 1024 + 5], p * 3 + 1, `page ${p} read back`);
  await region.flush();
  const stats = region.evictionStats();
  const onDisk = new Uint32Array(readFileSync(file).buffer);
  for (let p = 0; p < pages; p++) {
    assert.equal(onDisk[p * 1024 + 5], p * 3 + 1, `page ${p} in the file`);
    assert.equal(onDisk[p * 1024 + 6], patternWord(SEED, p * 1024 + 6), `page ${p}: the rest unchanged`);
  }
  await region.unmap();
  return stats;
}

test('a writable file region is evicted by the native evictor; a custom write() and nativeResolvers: false by the JS one', async () => {
  const file = `${tmp.dir}/a.bin`;
  writePatternFile(file, 64 * PAGE, SEED);
  const handler = await FaultHandler.create({ workers: 1 });
  try {
    const stats = await roundTrip(handler, file, 64);
    assert.equal(stats.evictor, 'native');
    assert.ok(stats.evicted >= 64 && stats.writtenBack >= 64, JSON.stringify(stats));
    // No writeback: nothing to write, whatever the resolver: native too.
    const plain = await handler.map({ size: 64 * PAGE, resolver: resolvers.pattern({ seed: SEED }), maxResident: 16 * PAGE });
    assert.equal(plain.evictionStats().evictor, 'native');
    await plain.unmap();
    // A store only JS can write to.
    const flag = new SharedArrayBuffer(4);
    const resolver = resolvers.custom(new URL('./fixtures/refusing-store-resolver.mjs', import.meta.url), {
      seed: SEED, flag, store: new SharedArrayBuffer(64 * PAGE), has: new SharedArrayBuffer(64),
    });
    const custom = await handler.map({ size: 64 * PAGE, resolver, maxResident: 16 * PAGE, writeback: true });
    assert.equal(custom.evictionStats().evictor, 'js');
    await custom.unmap();
  } finally {
    await handler.close();
  }
  const jsOnly = await FaultHandler.create({ workers: 1, nativeResolvers: false });
  try {
    writePatternFile(file, 64 * PAGE, SEED);
    const stats = await roundTrip(jsOnly, file, 64);
    assert.equal(stats.evictor, 'js');
  } finally {
    await jsOnly.close();
  }
});

test('native evictor: a pwrite refused by a full file system moves the run back (every byte kept), reports ENOSPC, and writes back once there is room', async () => {
  const mnt = `${tmp.dir}/small`;
  mkdirSync(mnt);
  // A tmpfs of 128 pages, filled up by another file: the region's sparse file reads as zeros, and storing any page of it needs room.
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${128 * PAGE}`, 'faultline-test', mnt]);
  const handler = await FaultHandler.create({ workers: 1 });
  const errors = [];
  handler.on('error', (e) => errors.push(e));
  try {
    const file = `${mnt}/array.bin`;
    closeSync(openSync(file, 'w'));
    truncateSync(file, 256 * PAGE);
    const filler = openSync(`${mnt}/filler`, 'w');
    try {
      const chunk = Buffer.alloc(PAGE, 1);
      for (;;) writeSync(filler, chunk);
    } catch (err) {
      assert.equal(err.code, 'ENOSPC');
    } finally {
      closeSync(filler);
    }
    const region = await handler.map({ size: 256 * PAGE, resolver: resolvers.file(file, { writable: true }), maxResident: 64 * PAGE, writeback: true });
    assert.equal(region.evictionStats().evictor, 'native');
    const w = new Uint32Array(region.buffer);
    for (let p = 0; p < 128; p++) w[p * 1024 + 9] = p + 7; // over budget: eviction tries, the file system refuses
    const t0 = Date.now();
    while (!errors.some((e) => e.code === 'ERR_FAULTLINE_WRITEBACK_FAILED') && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 10));
    const failure = errors.find((e) => e.code === 'ERR_FAULTLINE_WRITEBACK_FAILED');
    assert.ok(failure, `no writeback failure reported: ${errors.map((e) => e.message).join('; ')}`);
    assert.match(failure.message, /ENOSPC: pwrite of .*array\.bin.*they stay in memory/);
    for (let p = 0; p < 128; p++) {
      assert.equal(w[p * 1024 + 9], p + 7, `page ${p} kept its write`);
      assert.equal(w[p * 1024 + 10], 0, `page ${p}: the rest as the file had it`);
    }
    assert.equal(region.evictionStats().writtenBack, 0);
    // A flush while the file system is still full cannot write everything: it says so instead of resolving.
    await assert.rejects(region.flush(), (err) => err.code === 'ERR_FAULTLINE_WRITEBACK_FAILED' && /ENOSPC: pwrite/.test(err.message));

    rmSync(`${mnt}/filler`); // room again: eviction resumes, and the flush writes everything back
    await region.flush();
    for (let p = 0; p < 128; p++) assert.equal(w[p * 1024 + 9], p + 7, `page ${p} after writeback and fault-in`);
    await region.flush();
    const onDisk = new Uint32Array(readFileSync(file).buffer);
    for (let p = 0; p < 128; p++) assert.equal(onDisk[p * 1024 + 9], p + 7, `page ${p} in the file`);
    assert.ok(region.evictionStats().writtenBack >= 128, JSON.stringify(region.evictionStats()));
    assert.ok(errors.every((e) => e.code === 'ERR_FAULTLINE_WRITEBACK_FAILED'), errors.map((e) => e.message).join('; '));
  } finally {
    await handler.close();
    execFileSync('umount', [mnt]);
  }
});

// Flushes asked for while another is pending are served by the same pass: every one of them
// must settle when it ends (the evictors once answered only the newest, and the others waited
// until the region was unmapped).
for (const evictor of ['native', 'js']) {
  test(`${evictor} evictor: flushes asked for together all resolve, and the file then holds every write`, async () => {
    const file = `${tmp.dir}/together-${evictor}.bin`;
    writePatternFile(file, 64 * PAGE, SEED);
    const handler = await FaultHandler.create({ workers: 1, nativeResolvers: evictor === 'native' });
    try {
      const region = await handler.map({ size: 64 * PAGE, resolver: resolvers.file(file, { writable: true }), maxResident: 16 * PAGE, writeback: true });
      assert.equal(region.evictionStats().evictor, evictor);
      const w = new Uint32Array(region.buffer);
      for (let p = 0; p < 64; p++) w[p * 1024 + 5] = p + 100;
      let timer;
      const late = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('a flush never settled')), 10_000)));
      await Promise.race([Promise.all([region.flush(), region.flush(), region.flush()]), late]).finally(() => clearTimeout(timer));
      const onDisk = new Uint32Array(readFileSync(file).buffer);
      for (let p = 0; p < 64; p++) assert.equal(onDisk[p * 1024 + 5], p + 100, `page ${p} in the file`);
      await region.unmap();
    } finally {
      await handler.close();
    }
  });
}
