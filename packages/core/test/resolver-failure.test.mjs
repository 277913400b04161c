// A resolver that fails: the faulting thread is never left parked. Default
// policy poisons the page (the thread gets SIGBUS); onError 'zero' gives a zero
// page. Either way an 'error' event says what happened, and other regions and
// pages keep being served.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FaultHandler, resolvers, patternWord } from '../dist/index.js';

const failing = (options) => resolvers.custom(new URL('./fixtures/failing-resolver.mjs', import.meta.url), options);

test('a throwing resolver sends SIGBUS to the faulting thread (child process); other regions are served', () => {
  const child = spawnSync(process.execPath, [fileURLToPath(new URL('./fixtures/sigbus-child.mjs', import.meta.url))], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(child.signal, 'SIGBUS', `expected SIGBUS, got signal ${child.signal} status ${child.status}\n${child.stdout}\n${child.stderr}`);
  assert.match(child.stdout, /A0 ok/);
  assert.match(child.stdout, /B ok/);
  assert.doesNotMatch(child.stdout, /A3 survived/);
  // The main thread died on the fault, so it never saw an 'error' event: stderr says why.
  assert.match(child.stderr, /faultline: SIGBUS for the thread touching 0x[0-9a-f]+ \(region \d+ "A", offset 12288\): ERR_FAULTLINE_RESOLVER_FAILED: .*refusing page 3/);
});

test("onError 'zero': a throwing resolver yields a zero page and an 'error' event; the rest is served", async () => {
  const handler = await FaultHandler.create({ workers: 2 });
  try {
    const errors = [];
    handler.on('error', (e) => errors.push(e));
    const region = await handler.map({ size: 8 * 4096, resolver: failing({ failPages: [2], seed: 1 }), onError: 'zero' });
    const other = await handler.map({ size: 4 * 4096, resolver: resolvers.pattern({ seed: 2 }) });
    const words = new Uint32Array(region.buffer);
    for (let p = 0; p < 8; p++) {
      const w = words[p * 1024 + 10];
      assert.equal(w, p === 2 ? 0 : patternWord(1, p * 1024 + 10), `page ${p}`);
    }
    assert.equal(new Uint32Array(other.buffer)[1024 * 3], patternWord(2, 1024 * 3));
    for (let i = 0; i < 50 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(errors.length, 1);
    assert.equal(errors[0].code, 'ERR_FAULTLINE_RESOLVER_FAILED');
    assert.equal(errors[0].action, 'zeroed');
    assert.equal(errors[0].address, region.address + 2 * 4096);
    assert.match(errors[0].message, /refusing page 2 on purpose/);
    await handler.idle();
    assert.equal(region.stats().errors, 1);
  } finally {
    await handler.close();
  }
});

test("an async resolver's rejection follows the same policy; its successes are installed", async () => {
  const handler = await FaultHandler.create({ workers: 1 });
  try {
    const errors = [];
    handler.on('error', (e) => errors.push(e));
    const region = await handler.map({ size: 16 * 4096, resolver: failing({ failPages: [5], seed: 8, async: true }), onError: 'zero' });
    const words = new Uint32Array(region.buffer);
    for (let p = 0; p < 16; p++) assert.equal(words[p * 1024 + 1], p === 5 ? 0 : patternWord(8, p * 1024 + 1), `page ${p}`);
    for (let i = 0; i < 50 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(errors.length, 1);
  } finally {
    await handler.close();
  }
});

test('an invalid resolver result is reported with ERR_FAULTLINE_RESOLVER_RESULT', async () => {
  const handler = await FaultHandler.create({ workers: 1 });
  try {
    const errors = [];
    handler.on('error', (e) => errors.push(e));
    const region = await handler.map({
      size: 4096,
      resolver: resolvers.custom(new URL('./fixtures/bad-result-resolver.mjs', import.meta.url), {}),
      onError: 'zero',
    });
    assert.equal(new Uint8Array(region.buffer)[100], 0);
    for (let i = 0; i < 50 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(errors[0]?.code, 'ERR_FAULTLINE_RESOLVER_RESULT');
  } finally {
    await handler.close();
  }
});

test("a resolver that claims a page it never wrote installs zeros, never another region's bytes", async () => {
  const handler = await FaultHandler.create({ workers: 1 }); // one worker: one scratch, reused by both regions
  try {
    const secret = await handler.map({ size: 16 * 4096, resolver: failing({ seed: 77, failPages: [] }) });
    const sw = new Uint32Array(secret.buffer);
    for (let p = 0; p < 16; p++) assert.equal(sw[p * 1024 + 5], patternWord(77, p * 1024 + 5), 'the first region is served (its bytes pass through the scratch)');
    for (const claim of ['undefined', 'filled']) {
      const lazy = await handler.map({ size: 16 * 4096, resolver: resolvers.custom(new URL('./fixtures/lazy-resolver.mjs', import.meta.url), { claim }) });
      const bytes = new Uint8Array(lazy.buffer);
      assert.ok(bytes.every((b) => b === 0), `${claim}: every byte of the lazy region is zero`);
    }
  } finally {
    await handler.close();
  }
});
