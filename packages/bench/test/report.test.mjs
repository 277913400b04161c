// The report writers are pure functions of a result set: check their output
// from a fixed report (no timing involved).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTable } from '../dist/report/table.js';
import { renderSvg } from '../dist/report/svg.js';
import { reportJson, svgPathFor } from '../dist/report/json.js';
import { median, percentileSorted, ratio } from '../dist/stats.js';
import { summarise, judgeTarget } from '../dist/results.js';
import { report } from './fixtures-report.mjs';

test('table: one aligned row per scenario with both sides, the ratio and the target verdict', () => {
  const text = formatTable(report);
  const lines = text.split('\n');
  const header = lines.find((l) => l.startsWith('scenario'));
  assert.ok(header, 'has a header row');
  const rows = lines.filter((l) => /^(seq|ring)/.test(l));
  assert.equal(rows.length, 3);
  const seq = rows.find((l) => l.startsWith('seq-1t-pattern'));
  assert.match(seq, /1\.23M\s+2\.47M\s+0\.50x/);
  assert.match(seq, />= 1\.0x baseline: MISSED/);
  assert.match(seq, /21\.0\s+21\.0\s+80\.0\s+80\.0\s+2048\s+20\.0\s+20\.0\s+8\.0\s+8\.0/); // p50/p99 in us, calls, rss MiB
  assert.match(rows.find((l) => l.startsWith('ring')), /7\.50M\s+-\s+-/);
  // Right-aligned numeric columns end at the same offset as their header.
  const ratioEnd = header.indexOf('ratio') + 'ratio'.length;
  for (const r of rows) assert.equal(r.slice(0, ratioEnd).trimEnd().length, ratioEnd, r);
  assert.ok(lines.includes('-- ring alone (msgs/s)'));
  assert.match(text, /Linux 6\.18\.0 {2}node v20\.20\.2 {2}2 x Test CPU/);
  assert.match(text, /machine: waking a sleeping thread costs 30\.0 us \(25\.0 us after the run\); a round trip to a spinning peer 1\.00 us/);
});

test('svg: well-formed, two bars per scenario with a baseline, names escaped', () => {
  const svg = renderSvg(report);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svg.trimEnd(), /<\/svg>$/);
  // Every element is self-closed or closed in order.
  const stack = [];
  for (const [, close, name, selfClose] of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    if (selfClose) continue;
    if (close) assert.equal(stack.pop(), name);
    else stack.push(name);
  }
  assert.deepEqual(stack, []);
  assert.ok(!svg.includes('<&>'), 'raw markup characters from names must be escaped');
  assert.ok(svg.includes('seq&#60;&#38;&#62;&#34;odd&#34;'));
  const bars = [...svg.matchAll(/<rect x="\d+" y="\d+" width="(\d+)" height="13" fill="(#[0-9a-f]+)"/g)];
  assert.equal(bars.length, 5); // 2 + 2 + ring's single bar
  // Bars scale with throughput within a unit: 2.47M is twice 1.23M.
  const [fl, bl] = bars.map((b) => Number(b[1]));
  assert.ok(Math.abs(bl / fl - 2) < 0.01, `${bl} vs ${fl}`);
});

test('json: round-trips the report; the chart goes next to it', () => {
  assert.deepEqual(JSON.parse(reportJson(report)), report);
  assert.equal(svgPathFor('/tmp/out/results.json'), '/tmp/out/results.svg');
  assert.equal(svgPathFor('results'), 'results.svg');
});

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

test('summarise and targets: medians over rounds, verdicts from the ratio or the throughput', () => {
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
  assert.equal(judgeTarget({ text: 't', minRatio: 1 }, s, 0.99).met, false);
  assert.equal(judgeTarget({ text: 't', minRatio: 1 }, s, 1).met, true);
  assert.equal(judgeTarget({ text: 't', minThroughput: 1001 }, s, null).met, false);
  assert.equal(judgeTarget(undefined, s, 1), null);
});
