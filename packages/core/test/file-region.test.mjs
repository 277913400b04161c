// The main JS thread touches a 256 MiB file-backed region: every byte must equal
// the file, and the event loop must have been blocked while workers resolved
// the faults (the main thread is never needed to resolve a fault).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FaultHandler, resolvers } from '../dist/index.js';
import { tempDir, writePatternFile, permutation, firstDifference } from './helpers.mjs';

const SIZE = 256 << 20;
let tmp;
let expected;
let path;
let handler;

before(async () => {
  tmp = tempDir();
  path = join(tmp.dir, 'memory.bin');
  expected = writePatternFile(path, SIZE, 7);
  handler = await FaultHandler.create({ workers: 2 });
});

after(async () => {
  await handler?.close();
  tmp?.cleanup();
});

test('sequential touch of 256 MiB reads the file byte for byte, with the event loop blocked', async () => {
  const region = await handler.map({ size: SIZE, resolver: resolvers.file(path), name: 'seq' });
  const view = new Uint8Array(region.buffer);
  let loopRan = false;
  setImmediate(() => {
    loopRan = true;
  });
  const ps = region.pageSize;
  let sum = 0;
  for (let off = 0; off < SIZE; off += ps) sum += view[off]; // one fault per page, in order
  assert.equal(loopRan, false, 'the event loop must not have run while the main thread was faulting');
  assert.equal(firstDifference(view, expected), -1, 'region bytes differ from the file');
  assert.ok(sum > 0);
  await handler.idle();
  const s = region.stats();
  assert.equal(s.pagesInstalled, SIZE / ps);
  assert.equal(s.faults, SIZE / ps);
  assert.equal(s.errors, 0);
  await region.unmap();
});

test('random-order touch of 256 MiB reads the file byte for byte', async () => {
  const region = await handler.map({ size: SIZE, resolver: resolvers.file(path), name: 'random' });
  const view = new Uint8Array(region.buffer);
  const ps = region.pageSize;
  const order = permutation(SIZE / ps, 99);
  let loopRan = false;
  setImmediate(() => {
    loopRan = true;
  });
  for (let i = 0; i < order.length; i++) {
    const off = order[i] * ps + (i % ps); // a different byte in each page
    assert.equal(view[off], expected[off]);
  }
  assert.equal(loopRan, false);
  assert.equal(firstDifference(view, expected), -1, 'region bytes differ from the file');
  await handler.idle();
  assert.equal(region.stats().pagesInstalled, SIZE / ps);
  await region.unmap();
});

test('snapshot resolver (file mapped, installed without a JS copy) serves the same bytes', async () => {
  const size = 32 << 20;
  const region = await handler.map({ size, resolver: resolvers.snapshot(path, { offset: 4096 * 3 }), readahead: 4 });
  const view = new Uint8Array(region.buffer);
  assert.equal(firstDifference(view, expected.subarray(4096 * 3, 4096 * 3 + size)), -1);
  await region.unmap();
});

test('a region past the end of the file reads zeros beyond EOF', async () => {
  const size = 8 << 20;
  const region = await handler.map({ size, resolver: resolvers.file(path, { offset: SIZE - (4 << 20) }) });
  const view = new Uint8Array(region.buffer);
  assert.equal(firstDifference(view.subarray(0, 4 << 20), expected.subarray(SIZE - (4 << 20))), -1);
  assert.ok(view.subarray(4 << 20).every((b) => b === 0));
  await region.unmap();
});
