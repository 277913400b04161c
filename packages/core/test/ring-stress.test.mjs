// Many threads on a small ring (64 records: it wraps and fills constantly):
// (a) TS producers in workers -> TS consumers in workers, with 3-record REMAP
//     messages mixed in, so a split or torn continuation would be caught;
// (b) native producer threads (ringProduce, C++ RingView::Push) -> TS consumers.
// Every message must arrive exactly once, in order per producer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';

import testing from '@faultline/native/testing';

import { FaultRing } from '../dist/ring/index.js';

const workerUrl = new URL('./fixtures/ring-stress-worker.mjs', import.meta.url);

function run(data) {
  return new Promise((resolve, reject) => {
    const w = new Worker(workerUrl, { workerData: data });
    let result;
    w.once('message', (m) => (result = m));
    w.once('error', reject);
    w.once('exit', (code) => (code === 0 && result ? resolve(result) : reject(new Error(`worker ${data.role} exited with ${code}`))));
  });
}

function checkExactlyOnce(results, producers, count) {
  const errors = results.flatMap((r) => r.errors);
  assert.deepEqual(errors, [], 'consumers saw out-of-order, torn or unknown messages');
  let missing = 0;
  let duplicated = 0;
  for (let p = 0; p < producers; p++) {
    for (let s = 0; s < count; s++) {
      let times = 0;
      for (const r of results) times += r.seen[p][s];
      if (times === 0) missing++;
      if (times > 1) duplicated++;
    }
  }
  assert.equal(missing, 0, 'messages lost');
  assert.equal(duplicated, 0, 'messages delivered twice');
  assert.equal(results.reduce((a, r) => a + r.messages, 0), producers * count);
}

test('TS producers -> TS consumers, with multi-record messages, exactly once and in order', { timeout: 20000 }, async (t) => {
  const ring = FaultRing.create(64);
  const producers = 3;
  const count = 20000;
  const consumers = Array.from({ length: 3 }, () => run({ role: 'consumer', sab: ring.sab, producers, count, maxTake: 32 }));
  const produced = await Promise.all(
    Array.from({ length: producers }, (_, id) => run({ role: 'producer', sab: ring.sab, id, count, remapEvery: 3 })),
  );
  ring.close();
  const results = await Promise.all(consumers);
  checkExactlyOnce(results, producers, count);
  const stats = ring.stats();
  const records = producers * (count + 2 * Math.ceil(count / 3));
  assert.equal(stats.enqueued, records);
  assert.equal(stats.dequeued, records);
  assert.ok(ring.isEmpty());
  const full = produced.reduce((a, r) => a + r.full, 0);
  t.diagnostic(`ts->ts: ${records} records, producers found the ring full ${full} times, consumer takes ${results.map((r) => r.takes)}, parks ${results.map((r) => r.parks)}, futex wakes ${stats.wakeups}`);
});

test('native producer threads -> TS consumers, exactly once and in order', { timeout: 20000 }, async (t) => {
  const ring = FaultRing.create(64);
  const producers = 4;
  const count = 40000;
  const consumers = Array.from({ length: 2 }, () => run({ role: 'consumer', sab: ring.sab, producers, count, maxTake: 64 }));
  const { stalls, elapsedNs } = await testing.ringProduce(ring.i32, producers, count);
  ring.close();
  const results = await Promise.all(consumers);
  checkExactlyOnce(results, producers, count);
  const stats = ring.stats();
  assert.equal(stats.enqueued, producers * count);
  assert.equal(stats.dequeued, producers * count);
  assert.equal(stats.stalls, stalls, 'the ring counts the same stalls ringProduce reports');
  t.diagnostic(`native->ts: ${producers * count} records in ${(elapsedNs / 1e6).toFixed(0)} ms, ${stalls} stalls, futex wakes ${stats.wakeups}, consumer takes ${results.map((r) => r.takes)}`);
});

test('ringProduce validates its ring and refuses a closed one', async () => {
  await assert.rejects(async () => testing.ringProduce(new Int32Array(new SharedArrayBuffer(1024)), 1, 1), { code: 'ERR_FAULTLINE_RING_INVALID' });
  assert.throws(() => testing.ringProduce(new Uint32Array(4), 1, 1), TypeError);
  const ring = FaultRing.create(4);
  ring.close();
  await assert.rejects(testing.ringProduce(ring.i32, 1, 10), { code: 'ERR_FAULTLINE_RING_CLOSED' });
});
