// The FaultWaiter (serve/fault_waiter.cc) and the doorbell, with real uffds,
// real native faulting threads and worker threads waiting as serve loops do.
// Control words are those of serve/control_words.h.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import native from '@faultline/native';
import testing from '@faultline/native/testing';
import { addonPath, checkFdsClosedAfterAll } from './fixtures/native-test-env.mjs';

const { constants: C } = native;
const PAGE = native.pageSize();
const W = { seq: 0, messages: 2, leader: 3, followerSeq: 4, parked: 5, mode: 6, closed: 7, spinHits: 8, parks: 9, doorbells: 10, handoffs: 11 };
const MODE_READ = 0;
const MODE_EPOLL = 1;
const OWN_ID = 2;

checkFdsClosedAfterAll();

const pageWord = (p) => BigInt((p * 0x10001 + 7) >>> 0) | (BigInt((p ^ 0xabcd) >>> 0) << 32n);
const expectedChecksum = (pages) => {
  let x = 0n;
  for (let p = 0; p < pages; p++) x ^= pageWord(p);
  return x;
};

/** A uffd with `pages` registered (blocking in MODE_READ), a doorbell, a serve set, control words. */
function setup(pages, mode) {
  const fd = native.uffdCreate({ nonBlocking: mode === MODE_EPOLL });
  native.uffdApi(fd, 0);
  const noWait = mode === MODE_READ ? native.readNoWaitSupported(fd) : null;
  const map = native.mapAnonymous(pages * PAGE);
  native.uffdRegister(fd, map.address, map.length, C.UFFDIO_REGISTER_MODE_MISSING);
  const bell = mode === MODE_READ ? new native.Doorbell() : null;
  if (bell) native.uffdRegister(fd, bell.address, PAGE, C.UFFDIO_REGISTER_MODE_MISSING);
  const set = native.serveSetCreate();
  if (mode === MODE_EPOLL) native.serveSetAdd(set.epollFd, fd, OWN_ID);
  const tableSab = new SharedArrayBuffer(64 * 4);
  const table = new Int32Array(tableSab).fill(-1);
  table[OWN_ID] = fd;
  const controlSab = new SharedArrayBuffer(528 * 4);
  // An empty region table (core's shared/region-table.ts layout: header words, then 16 doubles per entry).
  const regionSab = new SharedArrayBuffer(64 + 16 * 16 * 8);
  new Int32Array(regionSab, 0, 4)[2] = 16;
  const statsSab = new SharedArrayBuffer(16 * 9 * 4);
  const control = new Int32Array(controlSab);
  control[W.mode] = mode;
  const options = (worker) => ({
    worker, ownUffdId: OWN_ID, epollFd: set.epollFd, kickFd: set.kickFd, doorbell: bell?.address ?? 0, pageSize: PAGE, maxSpinUs: 20, parkMs: 50,
    nativeResolvers: false,
  });
  const tables = { regionTable: new Uint8Array(regionSab), regionStats: new Int32Array(statsSab) };
  const worker = (index, extra = {}) =>
    new Worker(new URL('./fixtures/waiter-worker.mjs', import.meta.url), {
      workerData: { addonPath, options: options(index), base: map.address, pages, controlSab, tableSab, regionSab, statsSab, ...extra },
    });
  /** What the main thread does to make waiters look around (the handler's wake()). */
  const lookAround = () => {
    Atomics.add(control, W.seq, 1);
    Atomics.add(control, W.followerSeq, 1);
    native.futexWake(control, W.followerSeq, 100);
    if (Atomics.load(control, W.parked)) {
      if (Atomics.load(control, W.mode) === MODE_READ) bell.ring();
      else native.serveSetKick(set.kickFd);
    }
  };
  const close = () => {
    Atomics.store(control, W.closed, 1);
    lookAround();
  };
  const release = () => {
    native.closeFd(fd);
    bell?.stop();
    native.closeFd(set.epollFd);
    native.closeFd(set.kickFd);
  };
  return { fd, map, table, control, bell, set, worker, lookAround, close, release, options, noWait, tables };
}

const message = (w, type) => new Promise((resolve, reject) => {
  const on = (m) => {
    if (m.type !== type) return;
    w.off('message', on);
    resolve(m);
  };
  w.on('message', on);
  w.once('error', reject);
});

for (const mode of [MODE_READ, MODE_EPOLL]) {
  const name = mode === MODE_READ ? 'read mode (blocking read, doorbell)' : 'epoll mode (kick)';

  test(`${name}: every fault is delivered once and served; a parked leader wakes for control and for close`, { timeout: 60_000 }, async () => {
    const pages = 64;
    const s = setup(pages, mode);
    try {
      if (mode === MODE_READ) assert.equal(s.noWait, true, 'preadv2(RWF_NOWAIT) works on a blocking uffd here');
      const w = s.worker(0);
      const touched = await testing.touchPages(s.map.address, s.map.length, { order: 'random', seed: 3, threads: 2 });
      assert.equal(touched.checksum, expectedChecksum(pages), 'the toucher read what the waiter delivered and the worker installed');
      assert.equal(Atomics.load(s.control, W.messages), pages, 'each fault message read once');
      assert.equal(Atomics.load(s.control, W.leader), 1, 'worker 0 leads');
      // Wait until the leader sleeps, then ask it to look around.
      for (let i = 0; i < 500 && !Atomics.load(s.control, W.parked); i++) await new Promise((r) => setTimeout(r, 2));
      assert.equal(Atomics.load(s.control, W.parked), 1, 'an idle leader sleeps in the kernel');
      const looked = message(w, 'looked');
      s.lookAround();
      await looked;
      const done = message(w, 'done');
      s.close();
      const d = await done;
      assert.equal(d.faults, pages);
      if (mode === MODE_READ) assert.ok(Atomics.load(s.control, W.doorbells) >= 1, 'the doorbell woke the leader from read(2)');
      assert.ok(Atomics.load(s.control, W.parks) >= 1);
      await w.terminate();
    } finally {
      s.release();
    }
  });
}

test('leader/followers: one worker leads; when it hands over, a sleeping follower takes the lead and serves the rest', { timeout: 60_000 }, async () => {
  const pages = 48;
  const s = setup(pages, MODE_READ);
  try {
    const first = s.worker(0, { releaseAfter: 16 });
    // Let worker 0 take the lead before worker 1 starts.
    for (let i = 0; i < 500 && Atomics.load(s.control, W.leader) !== 1; i++) await new Promise((r) => setTimeout(r, 2));
    const second = s.worker(1);
    await message(second, 'ready');
    await new Promise((r) => setTimeout(r, 100)); // asleep as a follower by now
    const released = message(first, 'released');
    const touched = await testing.touchPages(s.map.address, s.map.length, { order: 'sequential' });
    assert.equal(touched.checksum, expectedChecksum(pages));
    assert.ok((await released).faults >= 16);
    assert.equal(Atomics.load(s.control, W.leader), 2, 'worker 1 leads now');
    assert.ok(Atomics.load(s.control, W.handoffs) >= 1, 'the follower was woken for the lead');
    const done = message(second, 'done');
    s.close();
    const d = await done;
    assert.ok(d.faults > 0 && d.faults <= pages - 16, `the follower served the rest (${d.faults})`);
    await Promise.all([first.terminate(), second.terminate()]);
  } finally {
    s.release();
  }
});

test('wait() returns 0 at once when the control seq moved or when it may not park, -1 once closed', () => {
  const s = setup(1, MODE_EPOLL);
  try {
    const waiter = new native.FaultWaiter({ ...s.options(0), ...s.tables, control: s.control, uffdTable: s.table });
    const records = new Uint32Array(256 * 4);
    Atomics.store(s.control, W.seq, 5);
    assert.equal(waiter.wait(records, 4, true), 0, 'seq differs from what the loop saw');
    assert.equal(waiter.wait(records, 5, false), 0, 'nothing pending and no parking allowed');
    assert.equal(Atomics.load(s.control, W.leader), 1, 'it took the lead on the way');
    waiter.release();
    assert.equal(Atomics.load(s.control, W.leader), 0);
    Atomics.store(s.control, W.closed, 1);
    assert.equal(waiter.wait(records, 5, true), -1);
  } finally {
    s.release();
  }
});

test('bad options name the option', () => {
  const s = setup(1, MODE_EPOLL);
  try {
    assert.throws(() => new native.FaultWaiter({ ...s.options(0), ...s.tables, control: [1], uffdTable: s.table }), /options.control must be an Int32Array/);
    assert.throws(() => new native.FaultWaiter({ ...s.options(99), ...s.tables, control: s.control, uffdTable: s.table }), /options.worker must be/);
    assert.throws(() => new native.FaultWaiter({ ...s.options(0), ...s.tables, control: new Int32Array(8), uffdTable: s.table }), /smaller than the control block/);
    const waiter = new native.FaultWaiter({ ...s.options(0), ...s.tables, control: s.control, uffdTable: s.table });
    assert.throws(() => waiter.wait(new Uint32Array(8), 0, false), /at least 16 records/);
  } finally {
    s.release();
  }
});
