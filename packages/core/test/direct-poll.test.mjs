// Direct poll: idle workers read faults from the handler's own uffd themselves
// (one wake-up per fault); the reader thread covers the rest. Whichever path a
// fault takes, the bytes must be right and every fault answered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultHandler, resolvers, patternWord } from '../dist/index.js';

const PAGES = 4096; // 16 MiB
const SEED = 99;

// Touches every page from the main thread and checks every 61st word.
function touchAndCheck(region) {
  const words = new Uint32Array(region.buffer);
  const pageWords = region.pageSize / 4;
  let bad = 0;
  for (let p = 0; p < PAGES; p++) if (words[p * pageWords + 3] !== patternWord(SEED, p * pageWords + 3)) bad++;
  for (let i = 0; i < words.length; i += 61) if (words[i] !== patternWord(SEED, i)) bad++;
  return bad;
}

test('direct poll on (default): bytes right, and workers took faults the reader thread never read', async () => {
  const handler = await FaultHandler.create({ workers: 2 });
  try {
    assert.equal(handler.directPoll, true);
    const region = await handler.map({ size: PAGES * 4096, resolver: resolvers.pattern({ seed: SEED }) });
    assert.equal(touchAndCheck(region), 0);
    assert.equal(await handler.idle(), true);
    const stats = handler.stats();
    const s = region.stats();
    assert.equal(s.pagesInstalled, PAGES);
    assert.equal(s.faults, PAGES, 'one fault per page, each answered once');
    assert.equal(stats.reader.messages + stats.direct.messages, s.faults, 'each fault message read exactly once');
    assert.ok(stats.direct.messages > 0, `the reader read all ${s.faults} faults: none went straight to a worker`);
  } finally {
    await handler.close();
  }
});

test('direct poll off: every fault goes through the reader thread and the ring', async () => {
  const handler = await FaultHandler.create({ workers: 2, directPoll: false });
  try {
    assert.equal(handler.directPoll, false);
    const region = await handler.map({ size: PAGES * 4096, resolver: resolvers.pattern({ seed: SEED }) });
    assert.equal(touchAndCheck(region), 0);
    assert.equal(await handler.idle(), true);
    assert.equal(handler.stats().reader.messages, region.stats().faults);
    assert.equal(handler.stats().direct.messages, 0);
    assert.equal(region.stats().pagesInstalled, PAGES);
  } finally {
    await handler.close();
  }
});

test('an own uffd with event features is served by the reader only (events need its barrier)', async () => {
  const handler = await FaultHandler.create({ workers: 1, features: ['remove'] });
  try {
    assert.equal(handler.directPoll, false, 'remove events on the own uffd turn direct poll off');
    const region = await handler.map({ size: PAGES * 4096, resolver: resolvers.pattern({ seed: SEED }) });
    assert.equal(touchAndCheck(region), 0);
    assert.equal(await handler.idle(), true);
    assert.equal(handler.stats().reader.messages, region.stats().faults);
  } finally {
    await handler.close();
  }
});

test('directPoll must be a boolean', async () => {
  await assert.rejects(FaultHandler.create({ directPoll: 'yes' }), {
    code: 'ERR_FAULTLINE_INVALID_ARGUMENT',
    message: /directPoll must be true or false/,
  });
});
