// Summaries, ratios and target verdicts: what a row claims follows from its
// samples, and a target is met only when every condition it names holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { median, percentileSorted, ratio } from '../dist/stats.js';
import { judgeTarget, scenarioResult, summarise } from '../dist/results.js';
import { sideOrder } from '../dist/runner.js';
import { side } from './fixtures-report.mjs';

test('stats: medians, nearest-rank percentiles, ratios', () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
  const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentileSorted(sorted, 50), 50);
  assert.equal(percentileSorted(sorted, 99), 99);
  assert.equal(percentileSorted([7], 99), 7);
  assert.equal(ratio(3, 2), 1.5);
  assert.equal(ratio(3, 0), null);
  assert.equal(ratio(3, null), null);
});

test('summarise: medians over rounds', () => {
  const s = summarise([
    { elapsedNs: 1e9, pages: 1000, faults: 100, p50Ns: 10, p99Ns: 50, resolverCalls: 100, rssDeltaKb: 10, cpuNs: 30e6 },
    { elapsedNs: 2e9, pages: 1000, faults: 100, p50Ns: 30, p99Ns: 70, resolverCalls: 100, rssDeltaKb: 30, cpuNs: 10e6 },
    { elapsedNs: 0.5e9, pages: 1000, faults: 100, p50Ns: 20, p99Ns: 60, resolverCalls: 100, rssDeltaKb: 20, cpuNs: 20e6 },
  ]);
  assert.deepEqual(s.rounds, [1000, 500, 2000]);
  assert.equal(s.throughput, 1000);
  assert.equal(s.faultsPerSec, 100);
  assert.equal(s.p50Ns, 20);
  assert.equal(s.rssDeltaKb, 20);
  assert.equal(s.cpuNsPerPage, 20e3, 'median CPU per page over the rounds');
});

test('targets: ratio against the named reference, CPU against it, absolute throughput; missing data fails', () => {
  const sides = { faultline: side(900, { cpuNsPerPage: 10 }), baseline: side(1000), limit: side(1000, { cpuNsPerPage: 12 }), readaheadBaseline: null };
  assert.equal(judgeTarget({ text: 't', minRatio: 1 }, sides).met, false, '0.9x the baseline');
  assert.equal(judgeTarget({ text: 't', minRatio: 0.9 }, sides).met, true);
  assert.equal(judgeTarget({ text: 't', reference: 'limit', minRatio: 0.9, cpuNotAbove: true }, sides).met, true);
  const hungry = { ...sides, faultline: side(900, { cpuNsPerPage: 13 }) };
  assert.equal(judgeTarget({ text: 't', reference: 'limit', minRatio: 0.9, cpuNotAbove: true }, hungry).met, false, 'more CPU than the limit');
  const unmeasured = { ...sides, faultline: side(900, { cpuNsPerPage: null }) };
  assert.equal(judgeTarget({ text: 't', reference: 'limit', cpuNotAbove: true }, unmeasured).met, false);
  assert.equal(judgeTarget({ text: 't', reference: 'readaheadBaseline', minRatio: 0.8 }, sides).met, false, 'no readahead reference ran');
  assert.equal(judgeTarget({ text: 't', minThroughput: 901 }, sides).met, false);
  assert.equal(judgeTarget({ text: 't', minThroughput: 900 }, sides).met, true);
});

test('scenarioResult: one ratio per reference; no verdicts without a Faultline side', () => {
  const meta = { name: 'x', group: 'g', description: 'd', unit: 'pages/s', pages: 10 };
  const targets = [{ text: '>= 1.0x baseline', minRatio: 1 }];
  const r = scenarioResult(meta, { faultline: side(300), baseline: side(100), limit: side(200), readaheadBaseline: side(600) }, targets);
  assert.equal(r.ratio, 3);
  assert.equal(r.limitRatio, 1.5);
  assert.equal(r.readaheadRatio, 0.5);
  assert.deepEqual(r.targets, [{ text: '>= 1.0x baseline', minRatio: 1, met: true }]);
  const onlyC = scenarioResult(meta, { baseline: side(100), limit: side(200) }, targets);
  assert.equal(onlyC.ratio, null);
  assert.equal(onlyC.readaheadBaseline, null);
  assert.deepEqual(onlyC.targets, []);
});

test('sideOrder: every side takes every place in turn', () => {
  const sides = ['baseline', 'limit', 'faultline'];
  assert.deepEqual(sideOrder(sides, 0), ['baseline', 'limit', 'faultline']);
  assert.deepEqual(sideOrder(sides, 1), ['limit', 'faultline', 'baseline']);
  assert.deepEqual(sideOrder(sides, 2), ['faultline', 'baseline', 'limit']);
  assert.deepEqual(sideOrder(sides, 3), sides);
  assert.deepEqual(sideOrder([], 5), []);
});
