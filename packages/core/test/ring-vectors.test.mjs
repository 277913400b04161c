// The golden vectors of docs/ring-vectors.json, checked against both
// implementations: the TypeScript codec (encode* / decodeMessage) and the
// native encoder the reader thread uses (encodeUffdMsg, from kernel bytes).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import testing from '@faultline/native/testing';

import {
  FaultRing,
  FLAG_MINOR,
  FLAG_WP,
  FLAG_WRITE,
  decodeHead,
  decodeMessage,
  encodeFault,
  encodeFork,
  encodeRemap,
  encodeRemove,
  encodeUnmap,
  messageRecords,
} from '../dist/ring/index.js';

const vectors = JSON.parse(readFileSync(new URL('../../../docs/ring-vectors.json', import.meta.url), 'utf8'));

const wordsOf = (hex) => Uint32Array.from(hex.split(' ').filter(Boolean), (w) => parseInt(w, 16));
const bytesOf = (hex) => Uint8Array.from(hex.match(/../g), (b) => parseInt(b, 16));

function encodeEvent(ev) {
  switch (ev.kind) {
    case 'fault':
      return encodeFault(ev.uffdId, ev.address, (ev.write ? FLAG_WRITE : 0) | (ev.wp ? FLAG_WP : 0) | (ev.minor ? FLAG_MINOR : 0), ev.tid);
    case 'fork':
      return encodeFork(ev.uffdId, ev.childUffdId);
    case 'remap':
      return encodeRemap(ev.uffdId, ev.from, ev.to, ev.length);
    case 'remove':
      return encodeRemove(ev.uffdId, ev.start, ev.end);
    case 'unmap':
      return encodeUnmap(ev.uffdId, ev.start, ev.end);
    default:
      throw new Error(`vector has unknown kind ${ev.kind}`);
  }
}

test('the vector file covers every kind', () => {
  const kinds = new Set(vectors.messages.map((v) => v.event.kind));
  assert.deepEqual([...kinds].sort(), ['fault', 'fork', 'remap', 'remove', 'unmap']);
  assert.ok(vectors.messages.some((v) => v.event.kind === 'fault' && v.event.minor));
  assert.ok(vectors.messages.some((v) => v.event.kind === 'fault' && v.event.wp));
});

for (const v of vectors.messages) {
  const expected = wordsOf(v.records);

  test(`TS codec: ${v.name}`, () => {
    assert.deepEqual(encodeEvent(v.event), expected, 'encode');
    assert.deepEqual(decodeMessage(expected, 0), v.event, 'decode');
    assert.equal(messageRecords(expected, 0), expected.length / 4);
    const head = decodeHead(expected, 0);
    assert.equal(head.uffdId, v.uffdId);
    assert.equal(head.cont, expected.length / 4 - 1);
  });

  test(`native encodeUffdMsg: ${v.name}`, () => {
    const out = testing.encodeUffdMsg(bytesOf(v.uffdMsg), v.uffdId, v.forkChildId);
    assert.ok(out instanceof Uint32Array);
    assert.deepEqual(out, expected);
  });
}

test('native encodeUffdMsg: unknown events encode to no records', () => {
  for (const v of vectors.unknownEvents) {
    assert.equal(testing.encodeUffdMsg(bytesOf(v.uffdMsg), v.uffdId).length, 0, v.name);
  }
});

test('native encodeUffdMsg rejects bad input', () => {
  assert.throws(() => testing.encodeUffdMsg(new Uint8Array(16), 0), TypeError);
  assert.throws(() => testing.encodeUffdMsg(new Uint8Array(32), 4096), RangeError);
});

test('ring layouts: byteLength, seq array and record placement', () => {
  for (const { capacity, recordsOffset, byteLength } of vectors.layouts) {
    assert.equal(FaultRing.byteLength(capacity), byteLength, `byteLength(${capacity})`);
    if (capacity > 4096) continue; // do not allocate 320 MiB to check the formula again
    const ring = FaultRing.create(capacity);
    assert.equal(ring.sab.byteLength, byteLength);
    const header = new DataView(ring.sab);
    assert.equal(header.getUint32(0, true), 0x47524c46);
    assert.equal(header.getUint32(4, true), 1);
    assert.equal(header.getUint32(8, true), capacity);
    for (let i = 0; i < capacity; i++) assert.equal(header.getInt32(256 + 4 * i, true), i, `seq[${i}]`);
    // Push one message per slot and find each at recordsOffset + 16 * slot, seq = pos + 1.
    for (let i = 0; i < capacity; i++) assert.ok(ring.tryPush(encodeFault(1, 0x1000 * (i + 1)), 1));
    for (let i = 0; i < capacity; i++) {
      const at = recordsOffset + 16 * i;
      assert.equal(header.getUint32(at, true), 0x00100012);
      assert.equal(header.getUint32(at + 8, true), 0x1000 * (i + 1));
      assert.equal(header.getInt32(256 + 4 * i, true), i + 1);
    }
    assert.equal(header.getInt32(64, true), capacity, 'enqueue position');
  }
});
