// The wake-up probe the bench prints in its header: a real C program with two
// real threads. Only sanity is asserted (positive, bounded): how the two
// figures compare is what the machine says, not something a test can demand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { probeWakeups, WAKE_PROBE_PROGRAM } from '../dist/wake-probe.js';
import { programPath } from '../dist/native-program.js';

const wakeProbePath = programPath(WAKE_PROBE_PROGRAM);

test('probeWakeups: both round trips measured, in nanoseconds', async () => {
  const p = await probeWakeups(300);
  assert.ok(p.sleepRoundTripNs > 0 && p.spinRoundTripNs > 0, JSON.stringify(p));
  assert.ok(p.sleepRoundTripNs < 1e9 && p.spinRoundTripNs < 1e9, `a round trip under a second: ${JSON.stringify(p)}`);
});

test('the probe refuses bad usage with exit 2', () => {
  assert.throws(() => execFileSync(wakeProbePath, ['--rounds', '0'], { stdio: 'pipe' }), (err) => err.status === 2);
  assert.throws(() => execFileSync(wakeProbePath, ['--bogus'], { stdio: 'pipe' }), (err) => err.status === 2 && /usage/.test(err.stderr));
});
