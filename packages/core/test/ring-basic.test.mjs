// Single-threaded behaviour of the TS ring (docs/ring.md §3): FIFO, whole
// messages, full/empty edges, wrap-around, batching limits, close, validation.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  FaultRing,
  addressOf,
  decodeMessage,
  encodeFault,
  encodeRemap,
  encodeRemove,
  messageRecords,
} from '../dist/ring/index.js';

const out = new Uint32Array(64 * 4);

test('push then take returns the same records in order; empty ring takes 0', () => {
  const ring = FaultRing.create(8);
  assert.ok(ring.isEmpty());
  assert.equal(ring.take(out, 16), 0);
  assert.ok(ring.tryPush(encodeFault(2, 0x7f0000001000, 1, 99), 1));
  assert.ok(ring.tryPush(encodeRemove(2, 0x7f0000000000, 0x7f0000004000), 2));
  assert.ok(!ring.isEmpty());
  assert.equal(ring.take(out, 16), 3);
  assert.deepEqual(decodeMessage(out, 0), { kind: 'fault', uffdId: 2, address: 0x7f0000001000, write: true, wp: false, minor: false, tid: 99 });
  assert.deepEqual(decodeMessage(out, 1), { kind: 'remove', uffdId: 2, start: 0x7f0000000000, end: 0x7f0000004000 });
  assert.ok(ring.isEmpty());
  assert.deepEqual(ring.stats(), { stalls: 0, wakeups: 0, enqueued: 3, dequeued: 3 });
});

test('a full ring refuses (all or nothing) and accepts again after a take', () => {
  const ring = FaultRing.create(4);
  assert.ok(ring.tryPush(encodeFault(0, 0x1000), 1));
  assert.ok(ring.tryPush(encodeFault(0, 0x2000), 1));
  // 2 slots left: a 3-record REMAP does not fit and must not be half-written.
  assert.equal(ring.tryPush(encodeRemap(0, 1, 2, 3), 3), false);
  assert.deepEqual(ring.stats().enqueued, 2);
  assert.ok(ring.tryPush(encodeFault(0, 0x3000), 1));
  assert.ok(ring.tryPush(encodeFault(0, 0x4000), 1));
  assert.equal(ring.tryPush(encodeFault(0, 0x5000), 1), false);
  assert.equal(ring.take(out, 1), 1);
  assert.equal(addressOf(out, 0), 0x1000);
  assert.ok(ring.tryPush(encodeFault(0, 0x5000), 1));
  assert.equal(ring.take(out, 16), 4);
  assert.deepEqual([0, 1, 2, 3].map((i) => addressOf(out, i)), [0x2000, 0x3000, 0x4000, 0x5000]);
});

test('take never splits a message: it stops before one that does not fit', () => {
  const ring = FaultRing.create(16);
  ring.tryPush(encodeFault(0, 0x1000), 1);
  ring.tryPush(encodeRemap(0, 0x10000, 0x20000, 0x3000), 3);
  assert.equal(ring.take(out, 3), 1, 'fault fits, remap (3) would exceed 3');
  assert.throws(() => ring.take(out, 2), RangeError, 'a 3-record message cannot fit in 2');
  assert.equal(ring.take(out, 3), 3);
  assert.deepEqual(decodeMessage(out, 0), { kind: 'remap', uffdId: 0, from: 0x10000, to: 0x20000, length: 0x3000 });
});

test('positions wrap many laps (and across 2^31) with messages straddling the end', () => {
  const ring = FaultRing.create(8);
  // Start near the int32 wrap to exercise (a - b) | 0 comparisons: move both
  // positions and every seq as if 2^31 - 20 records had passed.
  const start = 2 ** 31 - 20;
  Atomics.store(ring.i32, 16, start | 0);
  Atomics.store(ring.i32, 32, start | 0);
  for (let p = start; p < start + 8; p++) Atomics.store(ring.i32, 64 + (p & 7), p | 0);
  let next = 0;
  let expect = 0;
  for (let round = 0; round < 200; round++) {
    // 2 remaps (6 records) then 1 fault: the remaps straddle the end of the array.
    for (const k of [0, 1, 2]) {
      const n = next++;
      const words = k < 2 ? encodeRemap(5, n, n + 1, n + 2) : encodeFault(5, n);
      assert.ok(ring.tryPush(words, words.length / 4), `push ${n}`);
      if (k === 1) {
        const got = ring.take(out, 16);
        assert.equal(got, 6);
        for (let i = 0; i < got; i += messageRecords(out, i)) {
          assert.deepEqual(decodeMessage(out, i), { kind: 'remap', uffdId: 5, from: expect, to: expect + 1, length: expect + 2 });
          expect++;
        }
      }
    }
    assert.equal(ring.take(out, 16), 1);
    assert.equal(addressOf(out, 0), expect++);
  }
  assert.equal(expect, next);
});

test('tryPush rejects malformed messages instead of corrupting consumers', () => {
  const ring = FaultRing.create(8);
  const remap = encodeRemap(0, 1, 2, 3);
  assert.throws(() => ring.tryPush(remap, 2), RangeError, 'head without all its CONTs');
  assert.throws(() => ring.tryPush(remap.subarray(4), 2), RangeError, 'CONT first');
  assert.throws(() => ring.tryPush(encodeFault(0, 1), 2), RangeError, 'too few words');
  assert.throws(() => ring.tryPush(encodeFault(0, 1), 9), RangeError, 'more than capacity');
  assert.ok(ring.isEmpty());
});

test('close: producers refuse, consumers drain, waitForWork says closed only when empty', () => {
  const ring = FaultRing.create(4);
  ring.tryPush(encodeFault(0, 0x1000), 1);
  ring.close();
  assert.throws(() => ring.tryPush(encodeFault(0, 0x2000), 1), { code: 'ERR_FAULTLINE_RING_CLOSED' });
  assert.equal(ring.waitForWork(0, 0), 'ready');
  assert.equal(ring.take(out, 4), 1);
  assert.equal(ring.waitForWork(10, 1000), 'closed');
});

test('attach validates the header with ERR_FAULTLINE_RING_INVALID', () => {
  const ring = FaultRing.create(16);
  const again = FaultRing.attach(ring.sab);
  assert.equal(again.capacity, 16);
  ring.tryPush(encodeFault(0, 0x1000), 1);
  assert.equal(again.take(out, 4), 1, 'both views share the bytes');
  const code = { code: 'ERR_FAULTLINE_RING_INVALID' };
  assert.throws(() => FaultRing.attach(new SharedArrayBuffer(64)), code);
  assert.throws(() => FaultRing.attach(new SharedArrayBuffer(4096)), code);
  const bad = FaultRing.create(16);
  bad.i32[1] = 2;
  assert.throws(() => FaultRing.attach(bad.sab), /version 2/);
  const truncated = new SharedArrayBuffer(FaultRing.byteLength(16) - 16);
  new Int32Array(truncated).set(ring.i32.subarray(0, 64));
  assert.throws(() => FaultRing.attach(truncated), /truncated/);
  assert.throws(() => FaultRing.create(12), RangeError);
  assert.throws(() => FaultRing.create(1), RangeError);
});

test('encoders reject values that do not fit the format', () => {
  assert.throws(() => encodeFault(4096, 0), RangeError);
  assert.throws(() => encodeFault(0, -1), RangeError);
  assert.throws(() => encodeFault(0, 2 ** 53), RangeError);
  assert.throws(() => encodeFault(0, 0, 256), RangeError);
});
