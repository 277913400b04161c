// Creation, bad input and teardown: clear coded errors, nothing leaked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultHandler, resolvers, patternWord } from '../dist/index.js';
import { openFds } from './helpers.mjs';

test('bad input to map() gets a coded error that says the fix', async () => {
  const handler = await FaultHandler.create({ workers: 1 });
  try {
    await assert.rejects(handler.map({ size: 0, resolver: resolvers.zero() }), { code: 'ERR_FAULTLINE_INVALID_SIZE', message: /multiple of the page size/ });
    await assert.rejects(handler.map({ size: 5000, resolver: resolvers.zero() }), { code: 'ERR_FAULTLINE_INVALID_SIZE', message: /round it up to 8192/ });
    await assert.rejects(handler.map({ size: 4096 }), { code: 'ERR_FAULTLINE_INVALID_ARGUMENT', message: /resolver spec/ });
    await assert.rejects(
      handler.map({ size: 4096, resolver: resolvers.custom('/nonexistent/resolver.mjs', {}) }),
      { code: 'ERR_FAULTLINE_RESOLVER_LOAD', message: /nonexistent\/resolver\.mjs/ },
    );
    await assert.rejects(
      handler.map({ size: 4096, resolver: resolvers.custom('/tmp/x.mjs', { fn: () => 1 }) }),
      { code: 'ERR_FAULTLINE_OPTIONS_NOT_CLONEABLE', message: /structured-cloneable/ },
    );
    await assert.rejects(handler.map({ size: 4096, resolver: resolvers.zero(), readahead: 0 }), { code: 'ERR_FAULTLINE_INVALID_ARGUMENT' });
    await assert.rejects(handler.map({ size: 4096, resolver: resolvers.zero(), onError: 'explode' }), { code: 'ERR_FAULTLINE_INVALID_ARGUMENT' });
    // The handler still works after all that.
    const region = await handler.map({ size: 4096, resolver: resolvers.pattern({ seed: 1 }) });
    assert.equal(new Uint32Array(region.buffer)[3], patternWord(1, 3));
  } finally {
    await handler.close();
  }
});

test('bad options to create() are refused before anything is opened', async () => {
  const before = openFds();
  await assert.rejects(FaultHandler.create({ workers: 0 }), { code: 'ERR_FAULTLINE_INVALID_ARGUMENT' });
  await assert.rejects(FaultHandler.create({ ringCapacity: 1000 }), { code: 'ERR_FAULTLINE_INVALID_ARGUMENT', message: /power of two/ });
  await assert.rejects(FaultHandler.create({ features: ['teleport'] }), { code: 'ERR_FAULTLINE_INVALID_ARGUMENT', message: /unknown uffd feature/ });
  assert.equal(openFds(), before);
});

test('use after close and double close are coded errors', async () => {
  const handler = await FaultHandler.create({ workers: 1 });
  await handler.close();
  await assert.rejects(handler.map({ size: 4096, resolver: resolvers.zero() }), { code: 'ERR_FAULTLINE_CLOSED' });
  await assert.rejects(handler.close(), { code: 'ERR_FAULTLINE_ALREADY_CLOSED' });
  assert.equal(handler.closed, true);
});

test('close() leaks no fd and leaves touched memory readable', async () => {
  const before = openFds();
  const handler = await FaultHandler.create({ workers: 2 });
  const region = await handler.map({ size: 64 * 4096, resolver: resolvers.pattern({ seed: 77 }) });
  const words = new Uint32Array(region.buffer);
  for (let p = 0; p < 32; p++) assert.equal(words[p * 1024], patternWord(77, p * 1024));
  await handler.close();
  assert.equal(openFds(), before, 'fds leaked by create/map/close');
  // Pages installed before close keep their contents; the rest is plain memory now.
  assert.equal(words[5 * 1024], patternWord(77, 5 * 1024));
  assert.equal(words[40 * 1024], 0);
});

test('unmap() stops serving one region while others continue', async () => {
  const handler = await FaultHandler.create({ workers: 1 });
  try {
    const a = await handler.map({ size: 4 * 4096, resolver: resolvers.pattern({ seed: 1 }) });
    const b = await handler.map({ size: 4 * 4096, resolver: resolvers.pattern({ seed: 2 }) });
    assert.equal(new Uint32Array(a.buffer)[0], patternWord(1, 0));
    await a.unmap();
    assert.equal(new Uint32Array(a.buffer)[1024], 0, 'unregistered memory is plain anonymous memory');
    assert.equal(new Uint32Array(b.buffer)[1024], patternWord(2, 1024));
  } finally {
    await handler.close();
  }
});
