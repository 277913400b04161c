// The pattern resolver fills natively (packages/native/src/pattern.cc); the JS
// functions in pattern-bytes.ts are the reference tests and users compute
// expected bytes with. Both must agree word for word, everywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import native from '@faultline/native';
import { patternWord, fillPattern } from '../dist/index.js';

function checkRange(seed, firstWord, words) {
  const got = new Uint32Array(words);
  native.fillPattern(got, seed >>> 0, firstWord);
  for (let i = 0; i < words; i++) {
    if (got[i] !== patternWord(seed, firstWord + i)) {
      assert.fail(`seed ${seed} word ${firstWord + i}: native ${got[i]} != reference ${patternWord(seed, firstWord + i)}`);
    }
  }
}

test('native fill equals the reference at region starts, deep offsets and across a 2^32-word block', () => {
  for (const seed of [0, 1, 42, 0xdeadbeef, -7]) {
    checkRange(seed, 0, 4096);
    checkRange(seed, 1024 * 1234, 1024);
    checkRange(seed, 2 ** 32 - 512, 1024); // the high half changes mid-view
    checkRange(seed, 3 * 2 ** 32 + 77, 300);
  }
});

test('native fill writes through a view with a byteOffset and leaves the rest alone', () => {
  const buf = new Uint8Array(3 * 4096).fill(0xee);
  const view = buf.subarray(4096, 8192);
  native.fillPattern(view, 9, 1024);
  const ref = new Uint8Array(4096);
  fillPattern(9, 4096, ref);
  assert.deepEqual(view, ref);
  assert.ok(buf.subarray(0, 4096).every((b) => b === 0xee) && buf.subarray(8192).every((b) => b === 0xee));
});

test('bad views are refused with the reason', () => {
  assert.throws(() => native.fillPattern(new Uint8Array(6), 0, 0), /whole, 4-aligned 32-bit words/);
  assert.throws(() => native.fillPattern(new Uint8Array(12).subarray(1, 9), 0, 0), /4-aligned/);
  assert.throws(() => native.fillPattern([1, 2], 0, 0), /view must be a typed array/);
  assert.throws(() => native.fillPattern(new Uint32Array(1), 2 ** 32, 0), /seed must be a uint32/);
});
