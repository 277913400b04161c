// futexWait/futexWake on SharedArrayBuffer words, across real threads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import native from '@faultline/native';
import { addonPath } from './fixtures/native-test-env.mjs';

// futex(2)'s syscall number, to see a thread parked in it via /proc.
const SYS_FUTEX = { x64: 202, arm64: 98 }[process.arch];

// A worker that publishes its tid in words[1 + slot], then parks on words[0]
// while it holds 0 and posts futexWait's answer.
function parkedWorker(words, slot) {
  const source = `
    const { parentPort, workerData: w } = require('node:worker_threads');
    const native = require(${JSON.stringify(addonPath)});
    Atomics.store(w.words, 1 + w.slot, native.gettid());
    parentPort.postMessage(native.futexWait(w.words, 0, 0, Infinity));
  `;
  const worker = new Worker(source, { eval: true, workerData: { words, slot } });
  const result = new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  return { result, exited };
}

// Resolves once thread `tid` sits in futex() on `address` (read from
// /proc/self/task/<tid>/syscall: "<nr> <arg0> ..."), so a wake cannot race the
// wait and the test cannot pass by the value-changed path.
async function parkedOn(tid, address, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let fields = [];
    try {
      fields = readFileSync(`/proc/self/task/${tid}/syscall`, 'utf8').trim().split(' ');
    } catch {
      // the thread may not be visible yet
    }
    if (Number(fields[0]) === SYS_FUTEX && Number(BigInt(fields[1])) === address) return;
    if (Date.now() > deadline) throw new Error(`thread ${tid} did not park on the futex within ${timeoutMs} ms`);
    await delay(2);
  }
}

async function waitForTid(words, slot) {
  while (Atomics.load(words, 1 + slot) === 0) await delay(1);
  return Atomics.load(words, 1 + slot);
}

test('a worker parked in futexWait is woken by futexWake and returns 0', { skip: !SYS_FUTEX && 'unknown arch' }, async () => {
  const words = new Int32Array(new SharedArrayBuffer(16));
  const w = parkedWorker(words, 0);
  try {
    await parkedOn(await waitForTid(words, 0), native.viewAddress(words));
    Atomics.store(words, 0, 1);
    assert.equal(native.futexWake(words, 0, 1), 1, 'one waiter woken');
    assert.equal(await w.result, 0);
  } finally {
    Atomics.store(words, 0, 1);
    native.futexWake(words, 0, Infinity); // never leave the worker parked
    await w.exited;
  }
});

test('futexWake wakes up to `count` waiters', { skip: !SYS_FUTEX && 'unknown arch' }, async () => {
  const words = new Int32Array(new SharedArrayBuffer(16));
  const workers = [parkedWorker(words, 0), parkedWorker(words, 1)];
  try {
    for (const slot of [0, 1]) await parkedOn(await waitForTid(words, slot), native.viewAddress(words));
    assert.equal(native.futexWake(words, 0, 1), 1);
    assert.equal(native.futexWake(words, 0, Infinity), 1, 'the other one');
    assert.deepEqual(await Promise.all(workers.map((w) => w.result)), [0, 0]);
  } finally {
    Atomics.store(words, 0, 1);
    native.futexWake(words, 0, Infinity);
    await Promise.all(workers.map((w) => w.exited));
  }
});

test('futexWait returns 1 when the word differs and 2 on timeout', () => {
  const words = new Int32Array(new SharedArrayBuffer(8));
  words[1] = -7;
  assert.equal(native.futexWait(words, 1, 3, 1000), 1);
  assert.equal(native.futexWait(words, 1, 0xfffffff9, 10), 2, 'the uint32 form of -7 matches: it waits');
  const start = process.hrtime.bigint();
  assert.equal(native.futexWait(words, 0, 0, 30), 2);
  const elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
  assert.ok(elapsedMs >= 25, `waited ${elapsedMs} ms for a 30 ms timeout`);
  assert.equal(native.futexWake(words, 0, 1), 0, 'nobody to wake');
});

test('futex arguments are checked', () => {
  const words = new Int32Array(new SharedArrayBuffer(8));
  assert.throws(() => native.futexWait(words, 2, 0, 0), RangeError);
  assert.throws(() => native.futexWake(words, 2, 1), /out of bounds/);
  assert.throws(() => native.futexWait(new Uint32Array(2), 0, 0, 0), /Int32Array/);
  assert.throws(() => native.futexWait(words, 0, 0, -1), TypeError);
  assert.throws(() => native.futexWait(words, 0, 0, NaN), TypeError);
  assert.throws(() => native.futexWake(words, 0, 1.5), TypeError);
});
