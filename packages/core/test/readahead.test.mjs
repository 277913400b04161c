// Readahead: one resolver call fills N contiguous pages with one UFFDIO_COPY.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultHandler, resolvers, patternWord } from '../dist/index.js';

test('sequential touch of 64 MiB with readahead 16: >= 8x fewer resolver calls than pages, bytes right', async () => {
  const handler = await FaultHandler.create({ workers: 2 });
  try {
    const size = 64 << 20;
    const region = await handler.map({ size, resolver: resolvers.pattern({ seed: 3 }), readahead: 16 });
    const words = new Uint32Array(region.buffer);
    const pageWords = region.pageSize / 4;
    const pages = size / region.pageSize;
    for (let p = 0; p < pages; p++) assert.equal(words[p * pageWords + 5], patternWord(3, p * pageWords + 5));
    for (let i = 0; i < words.length; i += 61) assert.equal(words[i], patternWord(3, i));
    await handler.idle();
    const s = region.stats();
    assert.ok(s.resolverCalls * 8 <= pages, `resolver calls ${s.resolverCalls} for ${pages} pages`);
    assert.equal(s.pagesInstalled, pages);
  } finally {
    await handler.close();
  }
});

test('readahead never reads past the end of the region', async () => {
  const handler = await FaultHandler.create({ workers: 1 });
  try {
    const region = await handler.map({ size: 5 * 4096, resolver: resolvers.pattern({ seed: 9 }), readahead: 64 });
    const words = new Uint32Array(region.buffer);
    for (let i = 0; i < words.length; i++) assert.equal(words[i], patternWord(9, i));
    await handler.idle();
    assert.equal(region.stats().resolverCalls, 1);
    assert.equal(region.stats().pagesInstalled, 5);
  } finally {
    await handler.close();
  }
});
