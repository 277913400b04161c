// Nothing parked, nothing silent: what happens when a worker dies, a resolver
// never answers (async or sync) or never loads, and when close() is called
// with faults in flight. Every case ends in a defined outcome the test sees:
// the right bytes, or the region's policy with an 'error' event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import native from '@faultline/native';
import testing from '@faultline/native/testing';
import { FaultHandler, resolvers, patternWord } from '../dist/index.js';
import { openFds } from './helpers.mjs';

const PS = native.pageSize();
const SEED = 12;
const misbehaving = (options) => resolvers.custom(new URL('./fixtures/misbehaving-resolver.mjs', import.meta.url), { seed: SEED, ...options });
const word = (region, p) => new Uint32Array(region.buffer)[(p * PS) / 4 + 1];
const expected = (p) => patternWord(SEED, (p * PS) / 4 + 1);
const errorsOf = (handler) => {
  const errors = [];
  handler.on('error', (e) => errors.push(e));
  return errors;
};
const until = async (cond, ms = 5000) => {
  for (const end = Date.now() + ms; !cond() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 5));
  return cond();
};

for (const mode of ['exit', 'throw-later']) {
  test(`a worker that dies (${mode}) while the main thread is parked on its fault: re-delivered, served, replaced`, { timeout: 60_000 }, async () => {
    const handler = await FaultHandler.create({ workers: 2, parkMs: 50 });
    try {
      const errors = errorsOf(handler);
      const once = new SharedArrayBuffer(4);
      const region = await handler.map({ size: 64 * PS, resolver: misbehaving({ mode, pages: [5], once }) });
      // The main thread itself faults on page 5: it cannot run any recovery, a sleeping worker must.
      for (let p = 0; p < 64; p++) assert.equal(word(region, p), expected(p), `page ${p}`);
      assert.ok(await until(() => errors.some((e) => e.code === 'ERR_FAULTLINE_WORKER_DIED')), "an 'error' event says a worker died");
      assert.equal(await handler.idle(), true, 'nothing left pending');
      // The replacement serves: a new region maps (no control call waits on the dead worker) and faults.
      const after = await handler.map({ size: 64 * PS, resolver: resolvers.pattern({ seed: SEED }) });
      const touched = await testing.touchPages(after.address, after.size, { threads: 2, order: 'random' });
      assert.equal(touched.pages, 64);
      for (let p = 0; p < 64; p++) assert.equal(word(after, p), expected(p));
    } finally {
      await handler.close();
    }
  });
}

test('a resolver that never settles: after resolveTimeoutMs the thread gets the policy and an error says so', { timeout: 30_000 }, async () => {
  const handler = await FaultHandler.create({ workers: 2 });
  try {
    const errors = errorsOf(handler);
    const region = await handler.map({ size: 8 * PS, resolver: misbehaving({ mode: 'hang', pages: [2] }), onError: 'zero', resolveTimeoutMs: 200 });
    const t0 = Date.now();
    assert.equal(word(region, 2), 0, 'a zero page (onError zero) instead of parking for ever');
    assert.ok(Date.now() - t0 >= 150, 'after the deadline, not before');
    assert.equal(word(region, 3), expected(3), 'the rest is served');
    assert.ok(await until(() => errors.length > 0));
    assert.equal(errors[0].code, 'ERR_FAULTLINE_RESOLVER_TIMEOUT');
    assert.equal(errors[0].action, 'zeroed');
  } finally {
    await handler.close();
  }
});

test('a resolver that never returns (sync loop): the page gets the policy from the main thread, the stuck worker is replaced', { timeout: 60_000 }, async () => {
  const handler = await FaultHandler.create({ workers: 2, parkMs: 50 });
  try {
    const errors = errorsOf(handler);
    const region = await handler.map({ size: 16 * PS, resolver: misbehaving({ mode: 'spin', pages: [4] }), onError: 'zero', resolveTimeoutMs: 300 });
    // A native thread faults (the main thread stays free to run the watchdog).
    const touched = await testing.touchPages(region.address, region.size, { order: 'sequential' });
    assert.equal(touched.pages, 16);
    assert.equal(word(region, 4), 0, 'the page in the endless call got a zero page');
    for (const p of [0, 3, 5, 15]) assert.equal(word(region, p), expected(p), `page ${p} served`);
    assert.ok(await until(() => errors.some((e) => e.code === 'ERR_FAULTLINE_WORKER_DIED')), 'the stuck worker was terminated and replaced');
    const timeout = errors.find((e) => e.code === 'ERR_FAULTLINE_RESOLVER_TIMEOUT');
    assert.equal(timeout?.action, 'zeroed');
    assert.equal(timeout?.address, region.address + 4 * PS);
    const next = await handler.map({ size: 8 * PS, resolver: resolvers.pattern({ seed: SEED }) });
    assert.equal(word(next, 7), expected(7), 'serving goes on');
  } finally {
    await handler.close();
  }
});

test('a resolver module that never finishes loading: map() rejects at resolverLoadTimeoutMs and the handler goes on', { timeout: 60_000 }, async () => {
  const handler = await FaultHandler.create({ workers: 2, resolverLoadTimeoutMs: 500 });
  try {
    await assert.rejects(
      handler.map({ size: 4 * PS, resolver: resolvers.custom(new URL('./fixtures/never-loads-resolver.mjs', import.meta.url), {}) }),
      { code: 'ERR_FAULTLINE_RESOLVER_LOAD_TIMEOUT', message: /did not answer a 'load-resolver' request within 500 ms/ },
    );
    const region = await handler.map({ size: 4 * PS, resolver: resolvers.pattern({ seed: SEED }) });
    assert.equal(word(region, 3), expected(3));
  } finally {
    await handler.close();
  }
});

test("close() with faults in a resolver's hands and more arriving: those get their pages, the rest the policy, all reported", { timeout: 60_000 }, async () => {
  const handler = await FaultHandler.create({ workers: 2 });
  const errors = errorsOf(handler);
  const calls = new SharedArrayBuffer(4);
  const region = await handler.map({ size: 4096 * PS, resolver: misbehaving({ mode: 'slow', delayMs: 100, calls }), onError: 'zero' });
  // JS touchers: each reads pages until told to stop, recording what it read.
  const stop = new SharedArrayBuffer(4);
  const TOUCHER = `
    const { parentPort, workerData: { buffer, stop, first, pageWords } } = require('node:worker_threads');
    const s = new Int32Array(stop), words = new Uint32Array(buffer), seen = [];
    for (let p = first; Atomics.load(s, 0) === 0 && p < first + 512; p++) seen.push([p, words[p * pageWords + 1]]);
    parentPort.postMessage(seen);`;
  const touchers = [0, 512, 1024, 1536].map(
    (first) => new Worker(TOUCHER, { eval: true, workerData: { buffer: region.buffer, stop, first, pageWords: PS / 4 } }),
  );
  const seen = Promise.all(touchers.map((w) => new Promise((resolve) => w.once('message', resolve))));
  // Continuous load meanwhile: native threads faulting all over the region's upper half.
  const load = testing.touchPages(region.address + 2048 * PS, 2048 * PS, { threads: 2, order: 'random' });
  assert.ok(await until(() => Atomics.load(new Int32Array(calls), 0) >= 6), "faults are in the resolver's hands");
  Atomics.store(new Int32Array(stop), 0, 1); // the JS touchers fault on nothing new from here
  const report = await handler.close({ timeoutMs: 5000 });
  await load;
  const reads = (await seen).flat();
  await Promise.all(touchers.map((w) => w.terminate()));
  assert.equal(report.drained, true, 'under load, close() drained in its time');
  assert.equal(report.unanswered, 0);
  const zeroed = new Set(errors.filter((e) => e.action === 'zeroed').map((e) => e.address));
  let served = 0;
  for (const [p, value] of reads) {
    if (value === expected(p)) served++;
    else assert.ok(value === 0 && zeroed.has(region.address + p * PS), `page ${p} read ${value}: neither its bytes nor a reported zero page`);
  }
  assert.ok(served >= 1, `faults taken before close() got their bytes (${served})`);
  assert.ok(errors.every((e) => e.code === 'ERR_FAULTLINE_CLOSED'), errors.map((e) => e.code).join());
});

test('teardown while threads are still faulting, 60 times: no crash, no fd left', { timeout: 120_000 }, async () => {
  const before = openFds();
  for (let i = 0; i < 60; i++) {
    const handler = await FaultHandler.create({ workers: 2 });
    const region = await handler.map({ size: 1024 * PS, resolver: i % 2 ? resolvers.pattern({ seed: i }) : resolvers.zero(), onError: 'zero' });
    const touching = testing.touchPages(region.address, region.size, { threads: 2, order: 'random', seed: i });
    await new Promise((r) => setTimeout(r, i % 5));
    await handler.close({ timeoutMs: 2000 });
    await touching; // every toucher came back: answered, or plain memory after close
  }
  assert.equal(openFds(), before, 'fds leaked over 60 create/fault/close cycles');
});

test('after the last async answer with no fault behind it, the handler is idle and close() drains at once', { timeout: 30_000 }, async () => {
  const handler = await FaultHandler.create({ workers: 2 });
  try {
    const region = await handler.map({ size: 64 * PS, resolver: misbehaving({ mode: 'slow', delayMs: 2 }) });
    const touched = await testing.touchPages(region.address, region.size, { threads: 2, order: 'random' });
    assert.equal(touched.pages, 64);
    for (let p = 0; p < 64; p++) assert.equal(word(region, p), expected(p), `page ${p}`);
    assert.equal(await handler.idle(3000), true, 'a worker whose async answers all landed is not busy');
  } finally {
    const t0 = Date.now();
    const report = await handler.close({ timeoutMs: 3000 });
    assert.deepEqual(report, { drained: true, answeredAtClose: 0, unanswered: 0 });
    assert.ok(Date.now() - t0 < 2500, `close() waited ${Date.now() - t0} ms on nothing`);
  }
});
