// How faults reach the workers (handler/fault-source.ts): by default the
// workers read the uffds themselves, one leader at a time; with directPoll off
// the reader thread publishes every fault to the ring. Whichever path, and
// whichever way the leader waits (blocking read of the own uffd, or epoll
// over several), the bytes must be right and every fault answered once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import native from '@faultline/native';
import testing from '@faultline/native/testing';
import { FaultHandler, resolvers, patternWord } from '../dist/index.js';

const PS = native.pageSize();
const PAGES = 2048;
const SEED = 99;

/** Touches every page from native threads and checks every page's first word. */
async function touchAndCheck(region, pages = PAGES, seed = SEED) {
  await testing.touchPages(region.address, pages * PS, { order: 'random', seed: 5, threads: 2 });
  const words = new Uint32Array(region.buffer);
  let bad = 0;
  for (let p = 0; p < pages; p++) if (words[(p * PS) / 4] !== patternWord(seed, (p * PS) / 4)) bad++;
  return bad;
}

test('default: the workers read every fault themselves, the reader thread none; a leader with no spin sleeps between faults', async () => {
  const handler = await FaultHandler.create({ workers: 2, spinUs: 0 });
  try {
    assert.equal(handler.directPoll, true);
    const region = await handler.map({ size: PAGES * PS, resolver: resolvers.pattern({ seed: SEED }) });
    assert.equal(await touchAndCheck(region), 0);
    assert.equal(await handler.idle(), true);
    const stats = handler.stats();
    assert.equal(region.stats().faults, PAGES, 'one fault per page, each answered once');
    assert.equal(region.stats().pagesInstalled, PAGES);
    assert.equal(stats.workers.messages, PAGES, 'each fault message read once, by a worker');
    assert.equal(stats.reader.messages, 0);
    assert.ok(stats.workers.parks > 0, 'with spinUs 0 the leader sleeps in the kernel');
    assert.equal(stats.workers.spinHits, 0);
  } finally {
    await handler.close();
  }
});

test('directPoll off: every fault goes through the reader thread and the ring', async () => {
  const handler = await FaultHandler.create({ workers: 2, directPoll: false });
  try {
    assert.equal(handler.directPoll, false);
    const region = await handler.map({ size: PAGES * PS, resolver: resolvers.pattern({ seed: SEED }) });
    assert.equal(await touchAndCheck(region), 0);
    assert.equal(await handler.idle(), true);
    assert.equal(handler.stats().reader.messages, PAGES);
    assert.equal(handler.stats().workers.messages, 0);
    assert.equal(region.stats().pagesInstalled, PAGES);
  } finally {
    await handler.close();
  }
});

test('an own uffd with event features is read by the workers too (epoll mode, events in order)', async () => {
  const handler = await FaultHandler.create({ workers: 2, features: ['remove'] });
  try {
    assert.equal(handler.directPoll, true);
    const region = await handler.map({ size: PAGES * PS, resolver: resolvers.pattern({ seed: SEED }) });
    assert.equal(await touchAndCheck(region), 0);
    // A REMOVE event: the range reads zero afterwards, whatever the resolver says.
    const events = [];
    handler.on('uffd-event', (e) => events.push(e));
    native.madvise(region.address, 4 * PS, native.constants.MADV_DONTNEED);
    const words = new Uint32Array(region.buffer);
    assert.equal(words[1], 0, 'a removed page reads zero');
    assert.equal(words[(4 * PS) / 4], patternWord(SEED, (4 * PS) / 4), 'the page after it keeps its bytes');
    await handler.idle();
    for (let i = 0; i < 100 && events.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(events.map((e) => [e.kind, e.start - region.address, e.end - region.address]), [['remove', 0, 4 * PS]]);
    assert.equal(handler.stats().reader.messages, 0);
  } finally {
    await handler.close();
  }
});

test('adopting a uffd switches the leader to epoll over both, and releasing it switches back; both are served throughout', async () => {
  const handler = await FaultHandler.create({ workers: 2 });
  try {
    const own = await handler.map({ size: PAGES * PS, resolver: resolvers.pattern({ seed: SEED }) });
    assert.equal(await touchAndCheck(own, PAGES / 2), 0, 'own region, blocking-read mode');
    // A uffd "from another process" (made here, as a peer would, without events).
    const fd = native.uffdCreate();
    native.uffdApi(fd, 0);
    const peer = native.mapAnonymous(256 * PS);
    native.uffdRegister(fd, peer.address, peer.length, native.constants.UFFDIO_REGISTER_MODE_MISSING);
    const adopted = await handler.adopt(fd, { regions: [{ address: peer.address, size: peer.length, resolver: resolvers.pattern({ seed: 7 }) }] });
    assert.equal(await touchAndCheck({ address: peer.address, buffer: peer.buffer }, 256, 7), 0, 'adopted region');
    const words = new Uint32Array(own.buffer);
    for (let p = PAGES / 2; p < PAGES; p += 97) assert.equal(words[(p * PS) / 4 + 1], patternWord(SEED, (p * PS) / 4 + 1), `own page ${p} while adopted`);
    await adopted.close();
    // Back to the own uffd alone: every remaining page still served.
    await testing.touchPages(own.address, own.size, { order: 'sequential' });
    for (let p = 0; p < PAGES; p++) if (words[(p * PS) / 4] !== patternWord(SEED, (p * PS) / 4)) assert.fail(`own page ${p} wrong after release`);
    assert.equal(await handler.idle(), true);
    assert.equal(own.stats().faults, PAGES);
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

test('an idle handler (no faults for two seconds) uses under 1% of a CPU, after a burst of faults', async () => {
  const handler = await FaultHandler.create({ workers: 2 });
  try {
    const region = await handler.map({ size: PAGES * PS, resolver: resolvers.pattern({ seed: SEED }) });
    assert.equal(await touchAndCheck(region), 0);
    await handler.idle();
    await new Promise((r) => setTimeout(r, 200)); // let the leader's spin window run out
    const before = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 2000));
    const used = process.cpuUsage(before);
    const ms = (used.user + used.system) / 1000;
    assert.ok(ms < 20, `the whole process used ${ms.toFixed(1)} ms of CPU in 2 s while idle (1% would be 20 ms)`);
  } finally {
    await handler.close();
  }
});
