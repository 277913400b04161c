// Opt-in observability: sampled 'fault' events and periodic 'stats' events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultHandler, resolvers } from '../dist/index.js';

test("faultSampleEvery: 'fault' events name the region, the page address and the access", async () => {
  const handler = await FaultHandler.create({ workers: 1, faultSampleEvery: 4 });
  try {
    const samples = [];
    handler.on('fault', (s) => samples.push(s));
    const region = await handler.map({ size: 64 * 4096, resolver: resolvers.zero() });
    const bytes = new Uint8Array(region.buffer);
    for (let p = 0; p < 32; p++) void bytes[p * 4096];
    for (let p = 32; p < 64; p++) bytes[p * 4096] = 1;
    await handler.idle();
    for (let i = 0; i < 50 && samples.length < 16; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(samples.length, 16, 'one fault in 4 is sampled');
    for (const s of samples) {
      assert.equal(s.regionId, region.id);
      assert.ok(s.address >= region.address && s.address < region.address + region.size);
      assert.equal(s.write, s.address >= region.address + 32 * 4096, 'write flag follows the access');
      assert.ok(s.tid > 0, 'THREAD_ID names the faulting thread');
    }
  } finally {
    await handler.close();
  }
});

test("'stats' events arrive periodically while someone listens", async () => {
  const handler = await FaultHandler.create({ workers: 1, statsIntervalMs: 20 });
  try {
    const region = await handler.map({ size: 8 * 4096, resolver: resolvers.pattern({ seed: 1 }), name: 'watched' });
    void new Uint8Array(region.buffer)[5 * 4096];
    const stats = await new Promise((resolve) => handler.on('stats', resolve));
    assert.equal(stats.regions.watched.faults, 1);
    assert.equal(stats.regions.watched.pagesInstalled, 1);
    assert.equal(stats.reader.messages + stats.workers.messages, 1, 'the one fault was read once, by the reader or a worker');
  } finally {
    await handler.close();
  }
});
