// CLI argument errors are clear: exit code 2 and a message naming the problem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseCliArgs, UsageError } from '../dist/args.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const run = (...args) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 20_000 });

test('an unknown flag exits 2 naming the flag, with the usage', () => {
  const r = run('--bogus');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /Unknown option '--bogus'/);
  assert.match(r.stderr, /usage: faultline-bench/);
  assert.equal(r.stdout, '');
});

test('bad values exit 2 with what was wrong', () => {
  let r = run('--rounds', 'zero');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--rounds must be an integer from 1 to 100, got 'zero'/);
  r = run('--json');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--json/);
  r = run('--baseline-only', '--filter', 'no-such-scenario');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--filter 'no-such-scenario' matches no scenario; scenarios: seq-1t-zero, /);
  r = run('stray');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /stray/);
});

test('--help prints the usage and exits 0', () => {
  const r = run('--help');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /--quick/);
});

test('parseCliArgs: defaults and values', () => {
  assert.deepEqual(parseCliArgs([]), {
    quick: false, json: null, filter: null, rounds: null, baselineOnly: false, pin: null, repeat: 1, directPoll: null, spin: null, handlerOptions: {}, help: false,
  });
  assert.deepEqual(
    parseCliArgs(['--quick', '--json', 'r.json', '--filter', 'rand', '--rounds', '7', '--no-direct-poll', '--spin', '50', '--pin', '1', '--repeat', '3'], 2),
    { quick: true, json: 'r.json', filter: 'rand', rounds: 7, baselineOnly: false, pin: 1, repeat: 3, directPoll: false, spin: 50, handlerOptions: {}, help: false },
  );
  assert.equal(parseCliArgs(['--spin', '0']).spin, 0, 'spin 0: the leader never spins');
  assert.throws(() => parseCliArgs(['--spin', '2.5']), /--spin must be an integer/);
  assert.throws(() => parseCliArgs(['--rounds', '1.5']), UsageError);
});

test('--pin and --repeat: bad values are usage errors naming the range', () => {
  assert.throws(() => parseCliArgs(['--pin', '2'], 2), /--pin must be an integer from 0 to 1 \(this machine has 2 CPUs, numbered from 0\), got '2'/);
  assert.throws(() => parseCliArgs(['--pin=-1'], 2), /--pin must be an integer from 0 to 1/);
  assert.throws(() => parseCliArgs(['--pin', 'first'], 2), /got 'first'/);
  assert.throws(() => parseCliArgs(['--pin', ''], 2), /--pin must be an integer/);
  assert.equal(parseCliArgs(['--pin', '0'], 1).pin, 0);
  assert.throws(() => parseCliArgs(['--repeat', '0']), /--repeat must be an integer from 1 to 100, got '0'/);
  assert.throws(() => parseCliArgs(['--repeat', '2.5']), UsageError);
  assert.throws(() => parseCliArgs(['--repeat']), /--repeat/);
  const r = run('--pin', '4096');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--pin must be an integer from 0 to \d+ \(this machine has \d+ CPUs/);
});

test('--handler-option: any FaultHandler option by name, typed; a malformed one is a usage error', () => {
  const o = parseCliArgs(['--handler-option', 'spinUs=50', '--handler-option', 'nativeResolvers=false', '--handler-option', 'mode=fast']);
  assert.deepEqual(o.handlerOptions, { spinUs: 50, nativeResolvers: false, mode: 'fast' });
  assert.throws(() => parseCliArgs(['--handler-option', 'spinUs']), /--handler-option takes NAME=VALUE \(a FaultHandler option, e\.g\. spinUs=50\), got 'spinUs'/);
  assert.throws(() => parseCliArgs(['--handler-option', '=3']), UsageError);
});
