// Every example is a real program: run each and check what it prints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

function run(name, args = []) {
  const r = spawnSync(process.execPath, [fileURLToPath(new URL(`../${name}`, import.meta.url)), ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, `${name} exited ${r.status} (signal ${r.signal})\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

test('lazy-file: reads touched pages from the file, and only those', () => {
  const out = run('lazy-file.mjs');
  assert.match(out, /page 0: "page 0"/);
  assert.match(out, /page 5000: "page 5000"/);
  assert.match(out, /page 16383: "page 16383"/);
  const installed = Number(/pages installed (\d+)/.exec(out)[1]);
  assert.ok(installed <= 3 * 8, `installed ${installed} pages for 3 touches with readahead 8`);
});

test('custom-resolver: computes only the rows it shows', () => {
  const out = run('custom-resolver.mjs');
  assert.match(out, /@/, 'points inside the set are drawn');
  assert.match(out, /rows computed: 24 of 4096/);
});

test('worker-threads: every thread sees the same, right bytes', () => {
  const out = run('worker-threads.mjs');
  const m = /checksums: main (\d+), workers (\d+), (\d+), expected (\d+)/.exec(out);
  assert.ok(m, out);
  assert.equal(m[1], m[4]);
  assert.equal(m[2], m[4]);
  assert.equal(m[3], m[4]);
  assert.match(out, /pages installed 4096/);
});

test('dirty-tracking: incremental snapshots from the written pages rebuild the memory exactly', () => {
  const out = run('dirty-tracking/main.mjs');
  const epochs = [...out.matchAll(/epoch (\d): (\d+) dirty pages of 16384 .*; exactly the pages written/g)];
  assert.equal(epochs.length, 3, out);
  for (const m of epochs) assert.ok(Number(m[2]) > 0 && Number(m[2]) <= 500 * Number(m[1]), out);
  assert.match(out, /rebuilt from 3 incremental snapshots: identical to the live memory/);
});

test('out-of-core: an array 4x its memory budget, streamed and randomly updated, right in memory and in the file', () => {
  const out = run('out-of-core/main.mjs');
  assert.match(out, /in memory: every value right/);
  assert.match(out, /in the file after flush\(\): every value right/);
  const m = /resident peaked at ([\d.]+) MiB of a 16 MiB budget/.exec(out);
  assert.ok(m, out);
  assert.ok(Number(m[1]) <= 16 * 1.25, out);
});

test('snapshot-restore: records a working set, prefetches it, every touched page right', () => {
  const out = run('snapshot-restore/main.mjs', ['32']);
  assert.match(out, /on demand \(recording\): touched \d+ of 8192 pages in [\d.]+ ms/);
  const m = /prefetch installed (\d+) of (\d+) pages, (\d+) already there/.exec(out);
  assert.ok(m, out);
  assert.equal(Number(m[2]), Math.round(8192 * 0.2), 'the plan holds the whole recorded working set');
  assert.equal(Number(m[1]) + Number(m[3]), Number(m[2]), 'each planned page installed by the prefetch or already there');
  assert.match(out, /byte check: all 1638 touched pages match the memory file/);
  assert.match(out, /^speed-up: \d+\.\d\dx \(prefetch vs on demand\)$/m);
});
