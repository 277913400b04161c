// The CLI end to end on a tiny selection: --pin re-runs the bench under
// taskset (the placement is checked from the kernel's view, in the JSON),
// --repeat keeps every run and a summary, and progress reaches a piped stderr
// as one line per round.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'faultline-cli-run-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function bench(...args) {
  const r = spawnSync(process.execPath, [cli, '--quick', '--rounds', '1', ...args], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return r;
}

test('--pin 0: every side runs on CPU 0, said in the header and the JSON; progress lines on a piped stderr', () => {
  const json = join(dir, 'pinned.json');
  const r = bench('--pin', '0', '--filter', 'seq-1t-zero', '--json', json);
  const report = JSON.parse(readFileSync(json, 'utf8'));
  assert.deepEqual(report.environment.placement, { pinnedCpu: 0, cpusAllowed: '0' });
  assert.match(r.stdout, /placement: pinned to CPU 0/);
  const [s] = report.scenarios;
  assert.equal(s.name, 'seq-1t-zero');
  for (const side of ['faultline', 'baseline', 'limit']) assert.ok(s[side].throughput > 0, side);
  assert.equal(typeof s.limitRatio, 'number');
  assert.equal(s.readaheadBaseline, null);
  assert.deepEqual(s.targets.map((t) => t.text), ['>= 0.9x baseline (pinned)'], 'pinned, the bar is 0.9x the baseline and the limit is none');
  assert.match(r.stderr, /^\[1\/1\] seq-1t-zero {2}round 1\/1 {2}\d+\.\d s$/m);
  assert.ok(!r.stderr.includes('\r'), 'no carriage returns when stderr is not a terminal');
});

test('--repeat 2: each run as measured with its wake probe, and the spread per scenario', () => {
  const json = join(dir, 'repeat.json');
  const r = bench('--repeat', '2', '--baseline-only', '--filter', 'ra16', '--json', json);
  const report = JSON.parse(readFileSync(json, 'utf8'));
  assert.equal(report.environment.repeat, 2);
  assert.equal(report.runs.length, 2);
  for (const run of report.runs) {
    assert.ok(run.wakeProbe.before.sleepRoundTripNs > 0);
    assert.equal(run.scenarios[0].name, 'seq-1t-pattern-ra16');
    assert.ok(run.scenarios[0].readaheadBaseline.throughput > 0);
  }
  const [s] = report.summary;
  assert.equal(s.throughput.readaheadBaseline.values.length, 2);
  assert.ok(s.throughput.readaheadBaseline.min <= s.throughput.readaheadBaseline.max);
  assert.equal(s.ratio, null, '--baseline-only: no Faultline side, no ratio');
  assert.match(r.stdout, /^run 1 of 2$/m);
  assert.match(r.stdout, /^summary of 2 runs$/m);
  assert.match(r.stderr, /^run 2\/2 \[1\/1\] seq-1t-pattern-ra16 {2}round 1\/1/m);
  assert.match(readFileSync(join(dir, 'repeat.svg'), 'utf8'), /median throughput of 2 runs/);
});

test('the restore group from the command line: its section in the table, its results in the JSON, a progress line per round', () => {
  const json = join(dir, 'restore.json');
  const r = bench('--filter', 'restore-file', '--json', json);
  const report = JSON.parse(readFileSync(json, 'utf8'));
  assert.deepEqual(report.scenarios, [], 'no fault scenario matched');
  const [s] = report.restore;
  assert.equal(s.name, 'restore-file');
  assert.equal(s.workingSetPages, 13107);
  assert.equal(s.totalPages, 65536);
  assert.deepEqual(s.variants.map((v) => v.name), ['c-ondemand', 'faultline-ondemand', 'faultline-prefetch']);
  for (const v of s.variants) assert.ok(v.ms > 0 && v.roundsMs.length === 1, v.name);
  assert.equal(s.comparisons.length, 2);
  assert.match(r.stdout, /^-- restore: restore-file: /m);
  assert.match(r.stdout, /^faultline-prefetch vs c-ondemand: \d+\.\d\dx faster \(target >= 3x: (met|MISSED)\)$/m);
  assert.match(r.stderr, /^\[1\/1\] restore-file {2}round 1\/1 {2}\d+\.\d s$/m);
});
