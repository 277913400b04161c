// --repeat: per scenario, the median and min..max of each ratio across runs,
// the runs that met each target, every run's wake probe; the JSON keeps every
// run as measured.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spread, summariseRuns } from '../dist/repeat.js';
import { formatRepeatTable } from '../dist/report/repeat-table.js';
import { chartOfRepeat, renderSvg } from '../dist/report/svg.js';
import { reportJson } from '../dist/report/json.js';
import { environment, report } from './fixtures-report.mjs';
import { assertWellFormed } from './svg-check.mjs';

/** Run k: the fixture with seq-1t-pattern's Faultline throughput and ratio scaled. */
function run(k, scale, met) {
  const scenarios = report.scenarios.map((s) =>
    s.name !== 'seq-1t-pattern'
      ? s
      : {
          ...s,
          faultline: { ...s.faultline, throughput: s.faultline.throughput * scale },
          ratio: s.ratio * scale,
          limitRatio: s.limitRatio * scale,
          targets: s.targets.map((t, i) => (i === 0 ? { ...t, met } : t)),
        },
  );
  return { run: k, wakeProbe: { before: { sleepRoundTripNs: 2000 * k, spinRoundTripNs: 500 }, after: { sleepRoundTripNs: 4000 * k, spinRoundTripNs: 500 } }, scenarios };
}

const runs = [run(1, 1, false), run(2, 3, true), run(3, 2, true)];
const repeatReport = { environment: { ...environment, repeat: 3, wakeProbe: null }, runs, summary: summariseRuns(runs) };

test('spread: median, min, max of what was measured', () => {
  assert.deepEqual(spread([3, null, 1, 2]), { median: 2, min: 1, max: 3, values: [3, 1, 2] });
  assert.equal(spread([null, undefined]), null);
});

test('summariseRuns: each ratio\'s median and spread, targets met per run count', () => {
  const [seq, odd, ring] = repeatReport.summary;
  assert.equal(seq.name, 'seq-1t-pattern');
  assert.deepEqual(seq.ratio, { median: 1, min: 0.5, max: 1.5, values: [0.5, 1.5, 1] });
  assert.equal(seq.limitRatio.median, 1.234567 * 2);
  assert.equal(seq.throughput.faultline.median, 1234567 * 2);
  assert.equal(seq.throughput.baseline.median, 2469134);
  assert.equal(seq.throughput.readaheadBaseline, null);
  assert.deepEqual(seq.targets, [
    { text: '>= 1.0x baseline', met: 2, runs: 3 },
    { text: '>= 0.9x limit at <= its cpu/pg', met: 3, runs: 3 },
  ]);
  assert.equal(odd.readaheadRatio.median, 0.5);
  assert.equal(ring.ratio, null);
  assert.equal(ring.throughput.faultline.median, 7.5e6);
});

test('repeat table: medians with min..max, targets met k/K, one wake-probe line per run', () => {
  const text = formatRepeatTable(repeatReport);
  assert.match(text, /^summary of 3 runs/);
  const seq = text.split('\n').find((l) => l.startsWith('seq-1t-pattern'));
  assert.match(seq, /2\.47M\s+1\.00x\s+0\.50\.\.1\.50\s+2\.47x\s+1\.23\.\.3\.70\s+-\s+-/);
  assert.match(seq, />= 1\.0x baseline: 2\/3; >= 0\.9x limit at <= its cpu\/pg: 3\/3$/);
  assert.match(text, /run 1: waking a sleeping thread costs 1\.00 us/);
  assert.match(text, /run 3: waking a sleeping thread costs 3\.00 us/);
});

test('repeat JSON keeps every run; its chart shows the medians', () => {
  const parsed = JSON.parse(reportJson(repeatReport));
  assert.equal(parsed.runs.length, 3);
  assert.equal(parsed.runs[1].scenarios[0].ratio, 1.5);
  assert.equal(parsed.summary[0].ratio.median, 1);
  const svg = renderSvg(chartOfRepeat(repeatReport));
  assertWellFormed(svg);
  assert.match(svg, /median throughput of 3 runs/);
  assert.ok(svg.includes('>2.47M<'), 'the median Faultline throughput of seq-1t-pattern labels its bar');
});
