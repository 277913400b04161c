// Progress on stderr: a line per round with the elapsed time, kept as lines
// when stderr is not a terminal, overwritten in place when it is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Progress } from '../dist/progress.js';

function sink(isTTY) {
  const out = { isTTY, text: '', write: (t) => void (out.text += t) };
  return out;
}

const round = (r, extra = {}) => ({ run: 0, runs: 1, index: 2, count: 9, scenario: 'seq-1t-zero', round: r, rounds: 3, ...extra });

test('not a terminal: one full line per round with the scenario, round and seconds', () => {
  let now = 0;
  const s = sink(false);
  const p = new Progress(s, () => now);
  p.round(round(0));
  now = 1500;
  p.round(round(1));
  p.note('wrote x.json');
  assert.equal(s.text, '[3/9] seq-1t-zero  round 1/3  0.0 s\n[3/9] seq-1t-zero  round 2/3  1.5 s\nwrote x.json  1.5 s\n');
  assert.ok(!s.text.includes('\r'));
});

test('a terminal: rounds overwrite one line, cleared before notes', () => {
  const s = sink(true);
  const p = new Progress(s, () => 0);
  p.round(round(0, { run: 1, runs: 2 }));
  p.note('done');
  assert.equal(s.text, '\r\x1b[Krun 2/2 [3/9] seq-1t-zero  round 1/3  0.0 s\r\x1b[Kdone  0.0 s\n');
});
