// `npm run stress` in small (about 30 s in all on two cores): the same
// scenarios (test/stress/scenarios.mjs) with real uffd regions, two native
// faulting threads and a real worker pool. Each must end with every page
// right, no thread parked, no silent zero, and the fds and threads the
// process started with.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario, warmUp } from './stress/scenarios.mjs';

const SMALL = {
  steady: { faults: 400_000, gib: 1 / 8 },
  flaky: { gib: 1 / 4 },
  'worker-kills': { gib: 1 / 8, seconds: 6 },
  'close-under-load': { gib: 1 / 4 },
};
const log = process.env.FAULTLINE_STRESS_LOG ? (line) => process.stderr.write(`${line}\n`) : undefined;

before(() => warmUp());

async function run(name) {
  const row = await runScenario(name, SMALL[name], log);
  assert.deepEqual(row.failures, [], `${name}: ${row.failures.join('; ')}`);
  assert.ok(row.faults > 0, 'faults were served');
  assert.equal(row.wrong, 0, 'wrong pages');
  assert.equal(row.parked, 0, 'parked threads');
  assert.equal(row.silentZeros, 0, 'silent zeros');
  assert.ok(row.fdDelta <= 0, `fds: ${row.fdDelta} more than at the start`);
  assert.ok(row.threadDelta <= 0, `threads: ${row.threadDelta} more than at the start`);
  return row;
}

test('steady: native and JS resolvers, every page right, nothing reported', { timeout: 120_000 }, async () => {
  const row = await run('steady');
  assert.ok(row.faults >= 400_000, `${row.faults} faults`);
  assert.deepEqual(row.errors, {});
});

test('flaky: transient failures retried into the right bytes; permanent ones zeroed, one error each', { timeout: 120_000 }, async () => {
  const row = await run('flaky');
  assert.ok(row.errors.ERR_FAULTLINE_RESOLVER_FAILED > 0, JSON.stringify(row.errors));
  assert.deepEqual(Object.keys(row.errors), ['ERR_FAULTLINE_RESOLVER_FAILED']);
});

test('worker-kills: workers killed under load, every page still right, every death reported', { timeout: 120_000 }, async () => {
  const row = await run('worker-kills');
  assert.ok(row.errors.ERR_FAULTLINE_WORKER_DIED >= 2, JSON.stringify(row.errors));
  assert.deepEqual(Object.keys(row.errors), ['ERR_FAULTLINE_WORKER_DIED']);
});

test('close-under-load: close() while two threads fault, every page its bytes or a reported zero', { timeout: 120_000 }, async () => {
  const row = await run('close-under-load');
  assert.equal(row.close.drained, true);
  assert.equal(row.close.unanswered, 0);
});
