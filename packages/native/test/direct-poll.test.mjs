// The direct poll set: a worker parks on the uffd itself and reads faults
// straight into ring-format records. Real uffd, real native faulting thread;
// this thread plays the worker (directPollPull blocks it, the toucher is native).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import native from '@faultline/native';
import testing from '@faultline/native/testing';
import { checkFdsClosedAfterAll } from './fixtures/native-test-env.mjs';
import { decodeMessage } from '../../core/dist/ring/index.js';

const { constants: C } = native;
const PAGE = native.pageSize();
const UFFD_ID = 5;

checkFdsClosedAfterAll();

// First 8 bytes of page p (the toucher XOR-folds them into its checksum).
const pageWord = (p) => BigInt((p * 0x10001 + 7) >>> 0) | (BigInt((p ^ 0xabcd) >>> 0) << 32n);

function setup(pages) {
  const fd = native.uffdCreate();
  native.uffdApi(fd, 0);
  const map = native.mapAnonymous(pages * PAGE);
  native.uffdRegister(fd, map.address, map.length, C.UFFDIO_REGISTER_MODE_MISSING);
  const table = new Int32Array(new SharedArrayBuffer(64 * 4)).fill(-1);
  table[UFFD_ID] = fd;
  const set = native.directPollCreate();
  native.directPollAdd(set.epollFd, fd, UFFD_ID);
  const busy = new Int32Array(new SharedArrayBuffer(16 * 4));
  const records = new Uint32Array(256 * 4);
  const close = () => {
    native.closeFd(set.epollFd);
    native.closeFd(set.kickFd);
    native.closeFd(fd); // releases any thread still parked (it reads zeros): a bug fails, not hangs
  };
  return { fd, map, table, set, busy, records, close };
}

test('pull: every fault of a native thread arrives as a fault record, busy raised before the read; pages served read back', async () => {
  const pages = 32;
  const s = setup(pages);
  try {
    const touching = testing.touchPages(s.map.address, s.map.length, { order: 'random', seed: 7 });
    const content = new Uint32Array(PAGE / 4);
    const seen = new Set();
    while (seen.size < pages) {
      s.busy[3] = 0;
      const n = native.directPollPull(s.set.epollFd, s.set.kickFd, s.table, s.records, s.busy, 3, 5000);
      assert.ok(n > 0, 'a parked toucher is reported within 5 s');
      assert.equal(Atomics.load(s.busy, 3), 1, 'busy flag raised by the pull');
      for (let i = 0; i < n; i++) {
        const ev = decodeMessage(s.records, i);
        assert.equal(ev.kind, 'fault');
        assert.equal(ev.uffdId, UFFD_ID);
        const p = (ev.address - s.map.address - (ev.address % PAGE)) / PAGE;
        assert.ok(p >= 0 && p < pages && !seen.has(p), `page ${p} faulted once`);
        seen.add(p);
        content.fill(0);
        content[0] = (p * 0x10001 + 7) >>> 0;
        content[1] = (p ^ 0xabcd) >>> 0;
        assert.equal(native.uffdCopy(s.fd, s.map.address + p * PAGE, content, 0, PAGE, 0), PAGE);
      }
    }
    const r = await touching;
    let expected = 0n;
    for (let p = 0; p < pages; p++) expected ^= pageWord(p);
    assert.equal(r.checksum, expected, 'the toucher read the bytes we installed');
    assert.equal(native.fdReadable(s.fd), false, 'nothing left queued');
  } finally {
    s.close();
  }
});

test('pull: a kick returns 0 at once, one worker per kick; a quiet set times out', () => {
  const s = setup(1);
  try {
    native.directPollKick(s.set.kickFd, 2);
    let t0 = performance.now();
    assert.equal(native.directPollPull(s.set.epollFd, s.set.kickFd, s.table, s.records, s.busy, 0, 5000), 0);
    assert.equal(native.directPollPull(s.set.epollFd, s.set.kickFd, s.table, s.records, s.busy, 0, 5000), 0);
    assert.ok(performance.now() - t0 < 1000, 'two kicks, two prompt returns');
    t0 = performance.now();
    assert.equal(native.directPollPull(s.set.epollFd, s.set.kickFd, s.table, s.records, s.busy, 0, 50), 0);
    assert.ok(performance.now() - t0 >= 40, 'kicks are consumed: the third pull waits for its timeout');
    assert.equal(Atomics.load(s.busy, 0), 0, 'no uffd was read, busy untouched');
  } finally {
    s.close();
  }
});

test('pull: a uffd id whose table entry is free (-1) is skipped, its message left for whoever owns it', async () => {
  const s = setup(1);
  try {
    const touching = testing.touchPages(s.map.address, s.map.length);
    // Wait until the fault is queued, then hide the fd.
    const deadline = Date.now() + 5000;
    while (!native.fdReadable(s.fd) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
    assert.equal(native.fdReadable(s.fd), true);
    s.table[UFFD_ID] = -1;
    assert.equal(native.directPollPull(s.set.epollFd, s.set.kickFd, s.table, s.records, s.busy, 0, 100), 0);
    assert.equal(native.fdReadable(s.fd), true, 'the message is still queued');
    s.table[UFFD_ID] = s.fd;
    assert.equal(native.directPollPull(s.set.epollFd, s.set.kickFd, s.table, s.records, s.busy, 0, 1000), 1);
    assert.equal(native.uffdZeropage(s.fd, s.map.address, PAGE, 0), PAGE);
    assert.equal((await touching).checksum, 0n, 'a zero page was read');
  } finally {
    s.close();
  }
});

test('bad arguments name the argument', () => {
  const s = setup(1);
  try {
    assert.throws(() => native.directPollPull(s.set.epollFd, s.set.kickFd, [1], s.records, s.busy, 0, 0), /uffdTable must be/);
    assert.throws(() => native.directPollPull(s.set.epollFd, s.set.kickFd, s.table, new Int32Array(4), s.busy, 0, 0), /records must be a Uint32Array/);
    assert.throws(() => native.directPollPull(s.set.epollFd, s.set.kickFd, s.table, s.records, s.busy, 99, 0), /busyIndex/);
    assert.throws(() => native.directPollAdd(s.set.epollFd, s.fd, 5000), /uffdId must be <= 4095/);
    assert.throws(() => native.directPollAdd(s.set.epollFd, s.fd, UFFD_ID), { code: 'EEXIST' });
  } finally {
    s.close();
  }
});
