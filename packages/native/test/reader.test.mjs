// The reader thread end to end: real uffds, real faulting threads, the real
// ring. Touchers are worker_threads (they block in the kernel until served);
// this thread plays the consumer: it takes records from the ring, checks them
// and resolves each fault with uffdCopy. Every test closes its uffds in
// `finally`: closing releases a parked toucher (it reads zeros), so a bug fails
// the test instead of hanging it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { after, test } from 'node:test';
import { Worker } from 'node:worker_threads';

import native from '@faultline/native';

import { FaultRing, decodeMessage, messageRecords } from '../../core/dist/ring/index.js';

const { constants: C } = native;
const PAGE = native.pageSize();

const openFds = () => readdirSync('/proc/self/fd').length;
const threads = () => readdirSync('/proc/self/task').length;
const fdsAtStart = openFds();
after(() => assert.equal(openFds(), fdsAtStart, 'every fd opened by these tests is closed'));

// Mappings that must never be collected (see the events test).
const pinned = [];

const pageByte = (page, i) => (page * 7 + i * 13 + 1) & 0xff;

// A worker that reads 8 bytes of each page in `pages` (indices into buffer) and
// posts them back with its thread id.
const TOUCHER = `
  const { parentPort, workerData: w } = require('node:worker_threads');
  const native = require(w.addon);
  const view = new Uint8Array(w.buffer);
  const got = [];
  for (const p of w.pages) got.push(Array.from(view.subarray(p * w.page, p * w.page + 8)));
  parentPort.postMessage({ tid: native.gettid(), got });
`;
const addon = new URL('../index.js', import.meta.url).pathname;

function touch(buffer, pages) {
  const worker = new Worker(TOUCHER, { eval: true, workerData: { buffer, pages, page: PAGE, addon } });
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

// `map` defaults to a fresh mapping of `pages` pages; pass { address, length }
// to register part of a mapping the caller owns.
function session(features, pages, map = native.mapAnonymous(pages * PAGE)) {
  const fd = native.uffdCreate();
  try {
    native.uffdApi(fd, features);
    native.uffdRegister(fd, map.address, map.length, C.UFFDIO_REGISTER_MODE_MISSING);
    return { fd, map };
  } catch (err) {
    native.closeFd(fd);
    throw err;
  }
}

function newTable(size = 16) {
  return new Int32Array(new SharedArrayBuffer(4 * size)).fill(-1);
}

// Consumes FAULT records until `count` faults are resolved; returns the events.
function serveFaults(ring, fd, map, count, { tidSeen } = {}) {
  const out = new Uint32Array(64 * 4);
  const src = new Uint8Array(PAGE);
  const events = [];
  while (events.length < count) {
    const n = ring.take(out, 64);
    if (n === 0) {
      assert.equal(ring.waitForWork(100, 5000), 'ready', `only ${events.length} of ${count} faults arrived`);
      continue;
    }
    for (let i = 0; i < n; i += messageRecords(out, i)) {
      const ev = decodeMessage(out, i);
      events.push(ev);
      assert.equal(ev.kind, 'fault');
      const page = (ev.address - map.address) / PAGE;
      assert.ok(Number.isInteger(page) && page >= 0 && page < map.length / PAGE, `fault address ${ev.address} is a page of the mapping`);
      for (let b = 0; b < PAGE; b++) src[b] = pageByte(page, b);
      assert.equal(native.uffdCopy(fd, ev.address, src, 0, PAGE, 0), PAGE);
      if (tidSeen) tidSeen.add(ev.tid);
    }
  }
  return events;
}

function checkBytes(result, pages) {
  assert.equal(result.got.length, pages.length);
  result.got.forEach((bytes, k) => assert.deepEqual(bytes, [0, 1, 2, 3, 4, 5, 6, 7].map((i) => pageByte(pages[k], i)), `page ${pages[k]}`));
}

test('faults from two threads reach the ring with the right id, address and tid; the touchers read the installed bytes', async () => {
  const { fd, map } = session(C.UFFD_FEATURE_THREAD_ID, 64);
  const ring = FaultRing.create(64);
  const table = newTable();
  table[0] = 999; // a taken id: add() must pick the first free one
  const reader = new native.Reader(ring.i32, table);
  try {
    const id = reader.add(fd);
    assert.equal(id, 1);
    assert.equal(table[1], fd);
    const a = Array.from({ length: 32 }, (_, i) => 2 * i);
    const b = Array.from({ length: 32 }, (_, i) => 2 * i + 1).reverse();
    const results = Promise.all([touch(map.buffer, a), touch(map.buffer, b)]);
    const tids = new Set();
    const events = serveFaults(ring, fd, map, 64, { tidSeen: tids });
    const [ra, rb] = await results;
    checkBytes(ra, a);
    checkBytes(rb, b);
    assert.ok(events.every((e) => e.uffdId === 1 && !e.write && !e.wp && !e.minor));
    assert.deepEqual(new Set(events.map((e) => e.address)).size, 64, 'each page faulted once');
    assert.deepEqual([...tids].sort(), [ra.tid, rb.tid].sort(), 'THREAD_ID: records carry the toucher tids');
    const stats = reader.stats();
    assert.equal(stats.messages, 64);
    assert.ok(stats.reads >= 1 && stats.reads <= 64);
    assert.equal(stats.hangups, 0);
    assert.equal(ring.stats().enqueued, 64);
    // idle() is false while the reader thread is between publishing its last
    // record and blocking again; on a busy machine that can outlast the touch.
    const deadline = Date.now() + 5000;
    while (!reader.idle() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.ok(reader.idle(), 'nothing pending after every fault was served');
  } finally {
    reader.stop();
    native.closeFd(fd);
  }
});

test('a full ring stalls the reader without losing a fault (capacity 2, 6 threads)', async () => {
  const { fd, map } = session(0, 48);
  const ring = FaultRing.create(2);
  const reader = new native.Reader(ring.i32, newTable());
  try {
    reader.add(fd);
    const sets = Array.from({ length: 6 }, (_, t) => Array.from({ length: 8 }, (_, i) => t * 8 + i));
    const results = Promise.all(sets.map((pages) => touch(map.buffer, pages)));
    // Let the ring fill and more faults queue in the kernel before consuming.
    const deadline = Date.now() + 5000;
    while (reader.stats().stalls === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(reader.stats().stalls >= 1, 'the reader waited for space');
    assert.equal(ring.stats().enqueued, 2, 'no more than the ring holds was published');
    serveFaults(ring, fd, map, 48);
    const got = await results;
    got.forEach((r, t) => checkBytes(r, sets[t]));
    assert.equal(reader.stats().messages, 48);
    assert.equal(ring.stats().dequeued, 48);
  } finally {
    reader.stop();
    native.closeFd(fd);
  }
});

// Consumes event messages in a worker and releases the reader's event barrier
// (ring word 58, docs/ring.md §7) after each, as FaultHandler's workers do.
const EVENT_CONSUMER = `
  const { parentPort, workerData: w } = require('node:worker_threads');
  import(w.ringModule).then(({ FaultRing, decodeMessage, messageRecords }) => {
    const ring = FaultRing.attach(w.sab);
    const out = new Uint32Array(16 * 4);
    const events = [];
    parentPort.postMessage('ready');
    while (events.length < w.count) {
      if (ring.waitForWork(100, 20000) !== 'ready') break;
      const n = ring.take(out, 16);
      for (let i = 0; i < n; i += messageRecords(out, i)) {
        events.push(decodeMessage(out, i));
        Atomics.add(ring.i32, 58, 1);
      }
    }
    parentPort.postMessage(events);
  });
`;

// The events test moves and unmaps registered memory. A mapping's
// SharedArrayBuffer unmaps its whole range when collected, so a hole left in it
// that the kernel hands to someone else (the next small mmap lands there) would
// be unmapped under them later: a SIGSEGV in whatever test runs then. So every
// range touched lives in one arena mapping, and afterwards the page before each
// hole grows back over it in place (mremap without MAYMOVE fails rather than
// take memory someone else mapped meanwhile): the arena's finalizer unmaps only
// what it owns.
const ARENA_PAGES = 40;
const MOVED_FROM = 1; // map: arena pages 1..16 (page 0 is the anchor before it)
const MOVED_TO = 21; // the move's destination: pages 21..36 (page 20 is the anchor)
const MAP_PAGES = 16;
const CUT_PAGES = 4; // unmapped from the start of the moved range

function growAnchorOverHole(arena, holePage, holePages) {
  const anchor = arena.address + (holePage - 1) * PAGE;
  assert.equal(native.mremap(anchor, PAGE, (holePages + 1) * PAGE, 0), anchor);
}

test('events: REMOVE, REMAP (+UNMAP of the old range), FORK (child uffd in the table), UNMAP', async () => {
  const features = C.UFFD_FEATURE_EVENT_FORK | C.UFFD_FEATURE_EVENT_REMAP | C.UFFD_FEATURE_EVENT_REMOVE | C.UFFD_FEATURE_EVENT_UNMAP;
  const arena = native.mapAnonymous(ARENA_PAGES * PAGE);
  const { fd, map } = session(features, MAP_PAGES, { address: arena.address + MOVED_FROM * PAGE, length: MAP_PAGES * PAGE });
  const ring = FaultRing.create(16);
  const table = newTable();
  const reader = new native.Reader(ring.i32, table);
  let childFd = -1;
  let movedOut = false;
  let cut = false;
  const consumer = new Worker(EVENT_CONSUMER, {
    eval: true,
    workerData: { sab: ring.sab, count: 5, ringModule: new URL('../../core/dist/ring/index.js', import.meta.url).href },
  });
  const messages = [];
  const consumed = new Promise((resolve, reject) => {
    consumer.on('message', (m) => (m === 'ready' ? messages.push(m) : resolve(m)));
    consumer.once('error', reject);
  });
  // The mm changes below block this thread in the kernel until the reader has
  // read each event, and the reader waits for each event to be applied: the
  // consumer must be running before the first one, or nothing can move.
  while (messages.length === 0) await new Promise((r) => setTimeout(r, 5));
  try {
    const id = reader.add(fd);
    // Each of these blocks until the reader has read the event; the next one is
    // read only after the consumer applied the previous one (the barrier).
    native.madvise(map.address + PAGE, 2 * PAGE, C.MADV_DONTNEED);
    const target = arena.address + MOVED_TO * PAGE;
    const moved = native.mremap(map.address, map.length, map.length, C.MREMAP_MAYMOVE | C.MREMAP_FIXED, target);
    movedOut = true;
    assert.equal(moved, target);
    assert.equal(spawnSync('/bin/true').status, 0); // fork: the child's uffd comes to us
    native.munmap(moved, CUT_PAGES * PAGE);
    cut = true;

    const events = await consumed;
    assert.equal(events.length, 5, `got only ${JSON.stringify(events)}`);
    const fork = events[3];
    assert.deepEqual(events, [
      { kind: 'remove', uffdId: id, start: map.address + PAGE, end: map.address + 3 * PAGE },
      { kind: 'remap', uffdId: id, from: map.address, to: moved, length: map.length },
      { kind: 'unmap', uffdId: id, start: map.address, end: map.address + map.length },
      { kind: 'fork', uffdId: id, childUffdId: fork.childUffdId },
      { kind: 'unmap', uffdId: id, start: moved, end: moved + CUT_PAGES * PAGE },
    ]);
    assert.notEqual(fork.childUffdId, id);
    childFd = Atomics.load(table, fork.childUffdId);
    assert.match(readlinkSync(`/proc/self/fd/${childFd}`), /userfaultfd/, 'the table holds the child uffd');
    assert.equal(reader.stats().messages, 5);
    assert.equal(Atomics.load(ring.i32, 58), 5, 'every event was applied before the next was published');
  } finally {
    await consumer.terminate();
    reader.stop();
    native.closeFd(fd);
    if (childFd >= 0) native.closeFd(childFd);
    try {
      if (movedOut) growAnchorOverHole(arena, MOVED_FROM, MAP_PAGES);
      if (cut) growAnchorOverHole(arena, MOVED_TO, CUT_PAGES);
    } catch (err) {
      // Another mapping took a hole: never let the arena's finalizer unmap it.
      pinned.push(arena);
      throw err;
    }
  }
});

test('FORK with no uffd id free: published unserved (flags 0x01, arg = the child fd), the fd left open for the consumer', async () => {
  const { fd, map } = session(C.UFFD_FEATURE_EVENT_FORK, 1);
  const ring = FaultRing.create(4);
  const table = newTable(1);
  const reader = new native.Reader(ring.i32, table);
  let childFd = -1;
  try {
    assert.equal(reader.add(fd), 0, 'the only id is taken');
    // Returns once the reader has read the FORK (the kernel waits for that).
    assert.equal(spawnSync('/bin/true').status, 0);
    assert.equal(ring.waitForWork(100, 5000), 'ready');
    const out = new Uint32Array(4);
    assert.equal(ring.take(out, 1), 1);
    const w0 = out[0];
    assert.equal(w0 & 0xff, 0x13, 'a FORK record');
    assert.equal((w0 >>> 8) & 0xff, 0x01, 'flagged FORK_FLAG_UNSERVED');
    assert.equal((w0 >>> 16) & 0xf, 0, 'no continuation');
    assert.equal(w0 >>> 20, 0, 'seen on uffd 0');
    childFd = out[2];
    assert.equal(out[3], 0);
    assert.notEqual(childFd, fd);
    assert.equal(readlinkSync(`/proc/self/fd/${childFd}`), 'anon_inode:[userfaultfd]', 'arg is an open uffd of this process');
    assert.deepEqual([...table], [fd], 'no table entry was taken for the child');
    assert.equal(reader.stats().forksRefused, 1);
    assert.equal(map.length, PAGE);
    Atomics.add(ring.i32, 58, 1); // applied: releases the reader's event barrier
  } finally {
    reader.stop();
    native.closeFd(fd);
    if (childFd >= 0) native.closeFd(childFd);
  }
});

test('an unserved FORK that can no longer be published (ring closed) has its fd closed by the reader', async () => {
  const { fd, map } = session(C.UFFD_FEATURE_EVENT_FORK, 1);
  const ring = FaultRing.create(4);
  const reader = new native.Reader(ring.i32, newTable(1));
  const uffds = () => readdirSync('/proc/self/fd').filter((f) => {
    try {
      return readlinkSync(`/proc/self/fd/${f}`) === 'anon_inode:[userfaultfd]';
    } catch {
      return false;
    }
  }).length;
  try {
    assert.equal(reader.add(fd), 0);
    const before = uffds();
    ring.close(); // the handler is shutting down: nothing will consume the record
    assert.equal(spawnSync('/bin/true').status, 0);
    const deadline = Date.now() + 5000;
    while (reader.stats().forksRefused === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(reader.stats().forksRefused, 1);
    while (uffds() > before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(uffds(), before, "the child's uffd was closed, not leaked");
    assert.equal(ring.stats().enqueued, 0, 'nothing was published to the closed ring');
    assert.equal(map.length, PAGE);
  } finally {
    reader.stop();
    native.closeFd(fd);
  }
});

test('a fork right after add() never deadlocks with the reader thread (it must not malloc while fork holds the locks)', () => {
  // glibc's fork holds every malloc lock while the kernel waits for the reader
  // to read the FORK event: a reader that allocates at that moment (its first
  // command, its first batch) waits forever. In a child, so a hang is a
  // timeout here; each round is a fresh reader thread, where the race was.
  const script = `
    import { spawnSync } from 'node:child_process';
    import { createRequire } from 'node:module';
    import { FaultRing } from ${JSON.stringify(new URL('../../core/dist/ring/index.js', import.meta.url).href)};
    const native = createRequire(import.meta.url)(${JSON.stringify(addon)});
    const C = native.constants;
    const PAGE = native.pageSize();
    for (let round = 0; round < 60; round++) {
      const fd = native.uffdCreate();
      native.uffdApi(fd, C.UFFD_FEATURE_EVENT_FORK);
      const map = native.mapAnonymous(PAGE);
      native.uffdRegister(fd, map.address, PAGE, C.UFFDIO_REGISTER_MODE_MISSING);
      const ring = FaultRing.create(4);
      const table = new Int32Array(new SharedArrayBuffer(8)).fill(-1);
      const reader = new native.Reader(ring.i32, table);
      reader.add(fd);
      if (spawnSync('/bin/true').status !== 0) throw new Error('fork failed');
      Atomics.add(ring.i32, 58, 1); // release the event barrier
      reader.stop();
      native.closeFd(table[1]);
      native.closeFd(fd);
    }
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
  assert.equal(child.signal, null, 'the forking thread and the reader deadlocked (killed after 30 s)');
  assert.equal(child.status, 0, child.stderr);
});

test('add(fd, id) serves a slot the caller claimed; a wrong claim is refused', async () => {
  const { fd, map } = session(0, 1);
  const ring = FaultRing.create(4);
  const table = newTable();
  const reader = new native.Reader(ring.i32, table);
  try {
    assert.throws(() => reader.add(fd, 3), { code: 'ERR_FAULTLINE_UFFD_NOT_CLAIMED' });
    assert.equal(Atomics.compareExchange(table, 3, -1, fd), -1);
    assert.equal(reader.add(fd, 3), 3);
    const toucher = touch(map.buffer, [0]);
    assert.equal(ring.waitForWork(100, 5000), 'ready');
    const out = new Uint32Array(4);
    assert.equal(ring.take(out, 1), 1);
    assert.equal(decodeMessage(out, 0).uffdId, 3);
    const src = new Uint8Array(PAGE).fill(0x5a);
    assert.equal(native.uffdCopy(fd, map.address, src, 0, PAGE, 0), PAGE);
    const { got } = await toucher;
    assert.deepEqual(got[0], new Array(8).fill(0x5a));
  } finally {
    reader.stop();
    native.closeFd(fd);
  }
});

test('remove() stops reading a uffd: its faults stay queued in the kernel', async () => {
  const { fd, map } = session(0, 1);
  const ring = FaultRing.create(4);
  const reader = new native.Reader(ring.i32, newTable());
  try {
    const id = reader.add(fd);
    reader.remove(id);
    const result = touch(map.buffer, [0]);
    const msg = new Uint8Array(32);
    const deadline = Date.now() + 5000;
    let n = 0;
    while ((n = native.uffdRead(fd, msg)) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(n, 1, 'the fault was left for us');
    assert.ok(ring.isEmpty(), 'and the reader did not publish it');
    const src = new Uint8Array(PAGE);
    for (let b = 0; b < PAGE; b++) src[b] = pageByte(0, b);
    assert.equal(native.uffdCopy(fd, map.address, src, 0, PAGE, 0), PAGE);
    checkBytes(await result, [0]);
  } finally {
    reader.stop();
    native.closeFd(fd);
  }
});

test('argument and state errors', () => {
  const ring = FaultRing.create(4);
  const table = newTable(2);
  assert.throws(() => new native.Reader(new Int32Array(64), table), { code: 'ERR_FAULTLINE_RING_INVALID' });
  assert.throws(() => new native.Reader(ring.i32, new Uint32Array(4)), TypeError);
  const reader = new native.Reader(ring.i32, table);
  const fds = [native.uffdCreate(), native.uffdCreate(), native.uffdCreate()];
  try {
    for (const fd of fds) native.uffdApi(fd, 0);
    assert.equal(reader.add(fds[0]), 0);
    assert.throws(() => reader.add(fds[0]), { code: 'ERR_FAULTLINE_UFFD_ALREADY_ADDED' });
    assert.equal(reader.add(fds[1]), 1);
    assert.throws(() => reader.add(fds[2]), { code: 'ERR_FAULTLINE_UFFD_TABLE_FULL' });
    assert.throws(() => reader.add(100000), { code: 'EBADF' });
    assert.throws(() => reader.remove(2), RangeError);
    reader.stop();
    reader.stop(); // idempotent
    assert.throws(() => reader.add(fds[2]), { code: 'ERR_FAULTLINE_READER_STOPPED' });
  } finally {
    reader.stop();
    for (const fd of fds) native.closeFd(fd);
  }
});

test('a worker that exits with a running Reader leaves no thread behind (cleanup hook)', async () => {
  const before = threads();
  const code = `
    const { workerData: w } = require('node:worker_threads');
    const native = require(w.addon);
    const reader = new native.Reader(w.ring, w.table);
    globalThis.keep = reader; // never stopped: the environment cleanup hook must stop it
  `;
  const ring = FaultRing.create(4);
  const worker = new Worker(code, { eval: true, workerData: { addon, ring: ring.i32, table: newTable() } });
  const exitCode = await new Promise((resolve, reject) => {
    worker.once('exit', resolve);
    worker.once('error', reject);
  });
  assert.equal(exitCode, 0);
  const deadline = Date.now() + 2000;
  while (threads() > before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  // <=: libuv and V8 may retire helper threads meanwhile; what matters is that none is added.
  assert.ok(threads() <= before, `the worker and its reader thread are gone (${threads()} threads, ${before} before)`);
});
