// The report writers are pure functions of a result set: check their output
// from a fixed report (no timing involved).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTable } from '../dist/report/table.js';
import { chartOfRun, renderSvg, tickStep } from '../dist/report/svg.js';
import { reportJson, svgPathFor } from '../dist/report/json.js';
import { environment, report } from './fixtures-report.mjs';
import { assertWellFormed } from './svg-check.mjs';

test('table: one aligned row per scenario with every reference, both ratios, the limit\'s cpu/pg and the verdicts', () => {
  const text = formatTable(report);
  const lines = text.split('\n');
  const header = lines.find((l) => l.startsWith('scenario'));
  assert.ok(header, 'has a header row');
  for (const h of ['limit/s', 'lim ratio', 'ra ref/s', 'ra ratio', 'p50 lim', 'cpu/pg lim']) assert.ok(header.includes(h), h);
  const rows = lines.filter((l) => /^(seq|ring)/.test(l));
  assert.equal(rows.length, 3);
  const seq = rows.find((l) => l.startsWith('seq-1t-pattern'));
  // faultline, baseline, ratio, limit, lim ratio, ra ref, ra ratio
  assert.match(seq, /1\.23M\s+2\.47M\s+0\.50x\s+1\.00M\s+1\.23x\s+-\s+-/);
  // faults/s, p50 fl/bl/lim, p99 fl/bl, calls, cpu/pg fl/bl/lim, rss fl/bl (us, MiB)
  assert.match(seq, /1\.23M\s+21\.0\s+21\.0\s+9\.00\s+80\.0\s+80\.0\s+2048\s+30\.0\s+20\.0\s+45\.0\s+8\.0\s+8\.0/);
  assert.match(seq, />= 1\.0x baseline: MISSED; >= 0\.9x limit at <= its cpu\/pg: met$/);
  const ra = rows.find((l) => l.startsWith('seq<&>'));
  assert.match(ra, /45\.7k\s+45\.7k\s+1\.00x\s+40\.0k\s+1\.14x\s+91\.4k\s+0\.50x/);
  assert.match(ra, />= 0\.8x ra16 ref: MISSED$/);
  assert.match(rows.find((l) => l.startsWith('ring')), /7\.50M\s+-\s+-\s+-\s+-\s+-\s+-/);
  // Right-aligned numeric columns end at the same offset as their header.
  for (const col of ['ratio', 'lim ratio', 'cpu/pg lim']) {
    const end = header.indexOf(col) + col.length;
    for (const r of rows) assert.equal(r.slice(0, end).trimEnd().length, end, `${col} in ${r}`);
  }
  assert.ok(lines.includes('-- ring alone (msgs/s)'));
  assert.match(text, /Linux 6\.18\.0 {2}node v20\.20\.2 {2}2 x Test CPU/);
  assert.match(text, /placement: as scheduled \(CPUs 0-1 allowed\)/);
  assert.match(text, /machine: waking a sleeping thread costs 30\.0 us \(25\.0 us after the run\); a round trip to a spinning peer 1\.00 us/);
  assert.match(text, /lim ratio = Faultline \/ limit/);
});

test('table: a pinned run says where it ran; long latencies print without exponents', () => {
  const pinned = { ...report, environment: { ...environment, placement: { pinnedCpu: 1, cpusAllowed: '1' } } };
  const slow = { ...report.scenarios[0], faultline: { ...report.scenarios[0].faultline, p99Ns: 2_345_678 } };
  const text = formatTable({ ...pinned, scenarios: [slow] });
  assert.match(text, /placement: pinned to CPU 1 \(taskset -c 1: every thread of both sides and their child processes\)/);
  assert.match(text, /\s2346\s/);
  assert.ok(!/\de\+\d/.test(text), 'no 2.35e+3 style numbers');
});

test('svg: one panel per unit with its own axis, one bar per measured side, names escaped', () => {
  const svg = renderSvg(chartOfRun(report));
  assertWellFormed(svg);
  assert.ok(!svg.includes('<&>'), 'raw markup characters from names must be escaped');
  assert.ok(svg.includes('seq&#60;&#38;&#62;&#34;odd&#34;'));
  // Panels: a bold unit title each, pages/s first (table order).
  const titles = [...svg.matchAll(/font-weight="bold">([^<]+)<\/text>/g)].map((m) => m[1]);
  assert.deepEqual(titles.slice(1), ['pages/s', 'msgs/s']);
  // Legend names every side present, the readahead reference included.
  for (const name of ['Faultline', 'C baseline (blocking)', 'C limit (busy-poll)', 'C readahead ref']) assert.ok(svg.includes(`>${name}<`), name);
  const bars = [...svg.matchAll(/<rect x="(\d+)" y="(\d+)" width="(\d+)" height="11" fill="(#[0-9a-f]+)"/g)].map((b) => ({
    x: Number(b[1]), y: Number(b[2]), w: Number(b[3]), color: b[4],
  }));
  assert.equal(bars.length, 3 + 4 + 1);
  // Within a panel bars share a linear scale: 2.47M is twice 1.23M.
  assert.ok(Math.abs(bars[1].w / bars[0].w - 2) < 0.01, `${bars[1].w} vs ${bars[0].w}`);
  // The ring's 7.5M msgs/s is scaled on its own axis: its bar is not shorter than the 2.47M pages/s one's panel max.
  const ring = bars[bars.length - 1];
  assert.ok(ring.w > 400, `ring bar ${ring.w}px wide on its own axis`);
  // Tick labels: each axis starts at 0 and its last tick covers the largest value.
  const ticks = [...svg.matchAll(/text-anchor="middle" font-size="10" fill="#555">([^<]+)</g)].map((m) => m[1]);
  assert.ok(ticks.includes('0') && ticks.includes('3.00M') && ticks.includes('8.00M'), ticks.join(' '));
});

test('tickStep: round steps giving about four ticks', () => {
  assert.equal(tickStep(2469134), 1e6);
  assert.equal(tickStep(100), 50);
  assert.equal(tickStep(7.5e6), 2e6);
  assert.equal(tickStep(0), 1);
});

test('json: round-trips the report with the limit and readahead fields; the chart goes next to it', () => {
  const parsed = JSON.parse(reportJson(report));
  assert.deepEqual(parsed, report);
  const s = parsed.scenarios[0];
  for (const key of ['baseline', 'ratio', 'limit', 'limitRatio', 'readaheadBaseline', 'readaheadRatio', 'targets']) assert.ok(key in s, key);
  assert.deepEqual(Object.keys(s.limit).sort(), Object.keys(s.baseline).sort(), 'the limit has the baseline\'s fields');
  assert.deepEqual(parsed.environment.placement, { pinnedCpu: null, cpusAllowed: '0-1' });
  assert.equal(svgPathFor('/tmp/out/results.json'), '/tmp/out/results.svg');
  assert.equal(svgPathFor('results'), 'results.svg');
});

test('svg: the restore group in its own panel, in ms, one bar per variant with its own legend entry', () => {
  const restore = [{
    name: 'restore-file', group: 'restore', description: 'd', regionBytes: 1 << 28, totalPages: 65536, workingSetPages: 13107, skipped: null,
    variants: [['c-ondemand', 300], ['faultline-ondemand', 250], ['faultline-prefetch', 100]].map(([name, ms]) => ({
      name, description: 'd', ms, roundsMs: [ms], faults: 1, prefetched: null, p50Ns: 1, p99Ns: 1, cpuNsPerPage: 1,
    })),
    comparisons: [],
  }, { name: 'restore-huge', group: 'restore', description: 'd', regionBytes: 1 << 28, totalPages: 65536, workingSetPages: 13107, skipped: 'no huge pages', variants: [], comparisons: [] }];
  const svg = renderSvg(chartOfRun({ ...report, restore }));
  assertWellFormed(svg);
  const titles = [...svg.matchAll(/font-weight="bold">([^<]+)<\/text>/g)].map((m) => m[1]);
  assert.deepEqual(titles.slice(1), ['pages/s', 'msgs/s', 'restore: ms to touch the working set (shorter is better)']);
  assert.ok(svg.includes('>Faultline prefetch<'));
  assert.ok(!svg.includes('>restore-huge<'), 'a skipped scenario has no row');
  const bars = [...svg.matchAll(/<rect x="(\d+)" y="(\d+)" width="(\d+)" height="11" fill="(#[0-9a-f]+)"/g)];
  const last3 = bars.slice(-3).map((b) => Number(b[3]));
  assert.ok(Math.abs(last3[0] / last3[2] - 3) < 0.05, `300 ms is three times 100 ms: ${last3}`);
  // Six legend entries wrap onto a second line rather than run off the chart.
  const legendY = new Set([...svg.matchAll(/<rect x="\d+" y="(\d+)" width="10" height="10"/g)].map((m) => m[1]));
  assert.equal(legendY.size, 2);
});
