// The restore group: its working set, memory file, results and table, the
// child's working-set touch and byte check against a real C handler process,
// and the scenarios end to end on a small snapshot (every variant, the
// recorded trace prefetched, huge pages reserved and given back).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { patternByte } from '@faultline/core';
import { startAdoptChild, ADOPT_CHILD_PROGRAM } from '../dist/adopt/child.js';
import { startAdoptHandler } from '../dist/adopt/c-handler.js';
import { AdoptHost } from '../dist/adopt/host.js';
import { HandlerPool } from '../dist/faultline.js';
import { programPath } from '../dist/native-program.js';
import { writePatternFile } from '../dist/restore/memory-file.js';
import { compareVariants, summariseRestoreRuns, summariseVariant } from '../dist/restore/results.js';
import { runRestoreScenario } from '../dist/restore/runner.js';
import { createSnapshot } from '../dist/restore/snapshot.js';
import { workingSet, workingSetBytes, workingSetSize } from '../dist/restore/working-set.js';
import { restoreLines, restoreSummaryLines } from '../dist/report/restore-table.js';
import { restoreScenarios } from '../dist/scenarios/restore.js';
import { startRangeServer } from '../dist/restore/range-server.js';

const PAGE = 4096;
const SEED = 5;
const dir = mkdtempSync(join(tmpdir(), 'faultline-restore-test-'));
const handlers = new HandlerPool();
const adopt = new AdoptHost(dir);
let snapshot = null;
const ctx = {
  size: 1 << 20,
  pageSize: PAGE,
  seed: SEED,
  file: join(dir, 'unused.bin'),
  handlers,
  adopt,
  expectedChecksum: () => 0n,
  restoreSnapshot: () => (snapshot ??= createSnapshot(dir, { regionBytes: 16 << 20, fraction: 0.2, seed: SEED, pageSize: PAGE })),
};

after(async () => {
  await adopt.close();
  await handlers.closeAll();
  rmSync(dir, { recursive: true, force: true });
});

test('workingSet: round(fraction) distinct pages in range, fixed by the seed, in shuffled order', () => {
  const pages = workingSet(65536, 0.2, 1);
  assert.equal(pages.length, 13107);
  assert.equal(workingSetSize(65536, 0.2), 13107);
  assert.equal(new Set(pages).size, pages.length, 'no page twice');
  assert.ok(pages.every((p) => p < 65536));
  assert.deepEqual(workingSet(65536, 0.2, 1), pages, 'same seed, same pages in the same order');
  assert.notDeepEqual(workingSet(65536, 0.2, 2), pages, 'another seed, another set');
  const sorted = [...pages].sort((a, b) => a - b);
  assert.notDeepEqual([...pages], sorted, 'touch order is not address order');
  // Spread over the region, not clustered at its start: every eighth of it holds some of the set.
  const eighths = new Set(sorted.map((p) => Math.floor(p / 8192)));
  assert.equal(eighths.size, 8);
  assert.deepEqual([...workingSet(10, 1, 3)].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'fraction 1: every page');
  assert.throws(() => workingSet(10, 0, 1), /fraction/);
  assert.throws(() => workingSet(0, 0.5, 1), /totalPages/);
});

test('workingSetBytes: little-endian uint32 indexes, as the child reads them', () => {
  const bytes = workingSetBytes(Uint32Array.of(1, 0x01020304, 65535));
  assert.deepEqual([...bytes], [1, 0, 0, 0, 4, 3, 2, 1, 0xff, 0xff, 0, 0]);
});

test('writePatternFile: the pattern resolver\'s bytes at every offset, across chunk boundaries', () => {
  const path = join(dir, 'pattern.bin');
  const size = (8 << 20) + 3 * PAGE; // more than one 8 MiB chunk
  writePatternFile(path, size, SEED);
  const bytes = readFileSync(path);
  assert.equal(bytes.length, size);
  for (const offset of [0, 1, 4095, 4096, (8 << 20) - 1, 8 << 20, size - 1]) {
    assert.equal(bytes[offset], patternByte(SEED, offset), `byte ${offset}`);
  }
});

const sample = (ms, cpuNs = ms * 1e6, faults = 100) => ({ elapsedNs: ms * 1e6, pages: 100, faults, p50Ns: 10, p99Ns: 20, resolverCalls: null, rssDeltaKb: null, cpuNs, prefetched: null });

test('results: median time per variant, speed-ups with targets, none for a variant that did not run', () => {
  const slow = summariseVariant('slow', 'd', [sample(300), sample(100), sample(200)]);
  assert.equal(slow.ms, 200);
  assert.deepEqual(slow.roundsMs, [300, 100, 200]);
  assert.equal(slow.cpuNsPerPage, 2e6);
  assert.equal(slow.prefetched, null);
  assert.equal(summariseVariant('p', 'd', [{ ...sample(10), prefetched: 70 }, { ...sample(10), prefetched: 90 }]).prefetched, 80);
  assert.equal(slow.requests, null, 'a local file: no requests');
  assert.equal(summariseVariant('h', 'd', [{ ...sample(10), requests: 5 }, { ...sample(10), requests: 9 }, { ...sample(10), requests: 7 }]).requests, 7);
  const fast = summariseVariant('fast', 'd', [sample(50)]);
  const [c, d] = compareVariants([slow, fast], [
    { variant: 'fast', versus: 'slow', minSpeedup: 3 },
    { variant: 'slow', versus: 'fast' },
  ]);
  assert.equal(c.speedup, 4);
  assert.equal(c.met, true);
  assert.equal(d.speedup, 0.25);
  assert.equal(d.met, null, 'no target: reported only');
  assert.equal(compareVariants([slow, fast], [{ variant: 'fast', versus: 'slow', minSpeedup: 5 }])[0].met, false);
  assert.deepEqual(compareVariants([slow], [{ variant: 'fast', versus: 'slow', minSpeedup: 3 }]), []);
});

function result(name, fastMs, skipped = null) {
  const variants = skipped ? [] : [summariseVariant('c-ondemand', 'c', [sample(400)]), summariseVariant('faultline-prefetch', 'p', [sample(fastMs)])];
  return {
    name, group: 'restore', description: 'desc', regionBytes: 1 << 24, totalPages: 4096, workingSetPages: 819, skipped, variants,
    comparisons: skipped ? [] : compareVariants(variants, [{ variant: 'faultline-prefetch', versus: 'c-ondemand', minSpeedup: 3 }]),
  };
}

test('restore table: times per variant, each round, the speed-up and its verdict; a skipped scenario says why', () => {
  const text = restoreLines([result('restore-file', 100), result('restore-huge', 0, 'no huge pages for you')]).join('\n');
  assert.match(text, /^c-ondemand +400 +400 +100 +- +- +0\.0100 +0\.0200 +4000$/m);
  assert.match(text, /^faultline-prefetch vs c-ondemand: 4\.00x faster \(target >= 3x: met\)$/m);
  assert.match(text, /-- restore: restore-huge: desc; working set 819 of 4096 pages\nskipped: no huge pages for you/);
  const missed = restoreLines([result('restore-file', 200)]).join('\n');
  assert.match(missed, /2\.00x faster \(target >= 3x: MISSED\)/);
  assert.deepEqual(restoreLines([]), []);
});

test('restore across runs: median and spread of each time and speed-up, targets met per run, skips counted', () => {
  const [s] = summariseRestoreRuns([[result('restore-file', 100)], [result('restore-file', 200)], [result('restore-file', 80)]]);
  assert.deepEqual(s.variants.map((v) => [v.name, v.ms.median]), [['c-ondemand', 400], ['faultline-prefetch', 100]]);
  assert.equal(s.comparisons[0].speedup.median, 4);
  assert.equal(s.comparisons[0].speedup.min, 2);
  assert.equal(s.comparisons[0].met, 2);
  assert.equal(s.comparisons[0].runs, 3);
  const text = restoreSummaryLines([s]).join('\n');
  assert.match(text, /faultline-prefetch vs c-ondemand: 4\.00x faster \(2\.00\.\.5\.00\); target >= 3x met in 2\/3 runs/);
  const [h] = summariseRestoreRuns([[result('restore-huge', 0, 'why')], [result('restore-huge', 0, 'why')]]);
  assert.deepEqual(h.skipped, ['why', 'why']);
  assert.match(restoreSummaryLines([h]).join('\n'), /skipped in 2 run\(s\): why/);
});

test('the child touches the working set and checks its bytes; the wrong bytes fail it loudly', async () => {
  const snap = ctx.restoreSnapshot();
  const wrong = join(dir, 'other-memory.bin');
  writePatternFile(wrong, snap.regionBytes, SEED + 1);
  for (const [file, ok] of [[snap.memFile, true], [wrong, false]]) {
    const socket = join(dir, `child-${ok}.sock`);
    const handler = startAdoptHandler({ socket, mode: 'blocking', content: 'file', file, seed: SEED });
    const child = startAdoptChild({
      socket, size: snap.regionBytes, order: 'sequential', threads: 1, seed: SEED, handshake: 'firecracker', go: 'socket',
      workingSet: snap.workingSetFile, checkFile: snap.memFile,
    });
    if (ok) {
      const [r, h] = await Promise.all([child.result, handler.result]);
      assert.equal(r.pages, snap.workingSetPages);
      assert.equal(r.checkedPages, snap.workingSetPages);
      assert.equal(h.faults, snap.workingSetPages, 'one fault per working-set page, none elsewhere');
      await child.program.exited;
    } else {
      await assert.rejects(child.result, /WRONG CONTENT: page \d+ \(touch 1 of \d+\)/);
    }
    await handler.program.exited.catch(() => undefined);
    child.program.kill();
    handler.program.kill();
  }
});

test('the child refuses restore options that do not fit, with exit 2', async () => {
  const run = promisify(execFile);
  const child = programPath(ADOPT_CHILD_PROGRAM);
  const ws = join(dir, 'ws.u32');
  writeFileSync(ws, workingSetBytes(Uint32Array.of(0)));
  for (const [args, message] of [
    [['--socket', '/tmp/x', '--size', '1M', '--check-file', '/tmp/y'], /--check-file goes with --working-set/],
    [['--socket', '/tmp/x', '--size', '1M', '--working-set', ws, '--threads', '2'], /--working-set is touched by one thread/],
    [['--socket', '/tmp/x', '--size', '1M', '--hugetlb'], /--hugetlb needs a --size that is a multiple of 2 MiB/],
  ]) {
    await assert.rejects(run(child, args), (err) => err.code === 2 && message.test(err.stderr));
  }
});

const scenario = (name) => restoreScenarios().find((s) => s.name === name);

test('restore-file --baseline-only: the C variant alone, no speed-ups to judge', async () => {
  const r = await runRestoreScenario(scenario('restore-file'), ctx, { rounds: 1, baselineOnly: true });
  assert.equal(r.skipped, null);
  assert.deepEqual(r.variants.map((v) => v.name), ['c-ondemand']);
  assert.equal(r.variants[0].faults, ctx.restoreSnapshot().workingSetPages);
  assert.deepEqual(r.comparisons, []);
});

test('restore-huge: huge pages reserved for the scenario and given back; 2 MiB faults serve the same working set', async () => {
  const hugeDir = '/sys/kernel/mm/hugepages/hugepages-2048kB';
  const before = Number(readFileSync(`${hugeDir}/nr_hugepages`, 'utf8'));
  const r = await runRestoreScenario(scenario('restore-huge'), ctx, { rounds: 1, baselineOnly: false });
  assert.equal(r.skipped, null, `root on this machine: the reservation must work (${r.skipped})`);
  const [small, huge] = r.variants;
  assert.equal(small.name, 'faultline-ondemand-4k');
  assert.equal(small.faults, ctx.restoreSnapshot().workingSetPages, 'one 4 KiB fault per working-set page');
  assert.equal(huge.name, 'faultline-ondemand-2m');
  // 819 random pages of 16 MiB reach all 8 huge pages: one fault each.
  assert.equal(huge.faults, 8);
  assert.equal(r.comparisons.length, 1);
  assert.ok(r.comparisons[0].speedup > 0);
  assert.equal(Number(readFileSync(`${hugeDir}/nr_hugepages`, 'utf8')), before, 'the reservation is given back');
});

test('restore-file: C on demand, Faultline recording, then prefetching the recorded trace; every child checked its bytes', async () => {
  const snap = ctx.restoreSnapshot();
  const r = await runRestoreScenario(scenario('restore-file'), ctx, { rounds: 2, baselineOnly: false });
  assert.equal(r.skipped, null);
  assert.deepEqual(r.variants.map((v) => v.name), ['c-ondemand', 'faultline-ondemand', 'faultline-prefetch']);
  const [c, ondemand, prefetch] = r.variants;
  assert.equal(c.faults, snap.workingSetPages);
  assert.equal(ondemand.faults, snap.workingSetPages, 'on demand: one fault per working-set page');
  assert.equal(ondemand.prefetched, null);
  // How far the prefetch got before the touches is timing; that it installed within the plan is not.
  assert.ok(prefetch.prefetched >= 0 && prefetch.prefetched <= snap.workingSetPages, String(prefetch.prefetched));
  for (const v of r.variants) {
    assert.equal(v.roundsMs.length, 2);
    assert.ok(v.ms > 0 && v.cpuNsPerPage > 0, v.name);
  }
  assert.deepEqual(r.comparisons.map((x) => [x.variant, x.versus, x.minSpeedup]), [
    ['faultline-prefetch', 'faultline-ondemand', 3],
    ['faultline-prefetch', 'c-ondemand', 3],
  ]);
  for (const x of r.comparisons) assert.equal(typeof x.speedup, 'number');
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.fltrace')), [], 'each round\'s trace is removed after it');
});

test('restore-file: a prefetch with no trace recorded in its round fails the round, naming why', async () => {
  const [, [, prefetch]] = scenario('restore-file').units;
  await assert.rejects(prefetch.run(ctx, { tracePath: null }), /no trace recorded in this round/);
});

test('the range server: the memory file\'s bytes for a Range GET (206 with Content-Range), 416 past the end, every request counted', async () => {
  const snap = ctx.restoreSnapshot();
  const server = await startRangeServer(snap.memFile, 0);
  try {
    const file = readFileSync(snap.memFile);
    const r = await fetch(server.url, { headers: { range: 'bytes=8192-12287' } });
    assert.equal(r.status, 206);
    assert.equal(r.headers.get('content-range'), `bytes 8192-12287/${file.length}`);
    assert.deepEqual(Buffer.from(await r.arrayBuffer()), file.subarray(8192, 12288));
    const past = await fetch(server.url, { headers: { range: `bytes=${file.length}-${file.length + 10}` } });
    assert.equal(past.status, 416);
    await past.arrayBuffer();
    assert.equal(server.requests(), 2);
  } finally {
    await server.close();
  }
});

test('restore-http: one Range GET per fault on demand (recording), then the trace prefetched in chunks through the resolver; every child checked its bytes', async () => {
  const snap = ctx.restoreSnapshot();
  const r = await runRestoreScenario(scenario('restore-http'), ctx, { rounds: 1, baselineOnly: false });
  assert.equal(r.skipped, null);
  assert.deepEqual(r.variants.map((v) => v.name), ['http-ondemand-page', 'http-prefetch-chunked']);
  const [ondemand, prefetch] = r.variants;
  assert.equal(ondemand.faults, snap.workingSetPages);
  // A request per fault (a retry after a timeout on a busy machine would add one).
  assert.ok(ondemand.requests >= snap.workingSetPages && ondemand.requests < snap.workingSetPages * 1.05, `${ondemand.requests} requests`);
  assert.ok(prefetch.prefetched >= 0 && prefetch.prefetched <= snap.workingSetPages, String(prefetch.prefetched));
  // At most every 256 KiB chunk once per resolver instance (two workers and the prefetch thread, each its own
  // cache), plus one page per request for each fault that overtook the prefetch: on a busy machine the child
  // can get ahead of it, and those faults are served as on demand (a loaded run saw 280 requests for 64 chunks).
  const chunks = snap.regionBytes / (256 << 10);
  assert.ok(prefetch.requests > 0 && prefetch.requests <= 3 * chunks + prefetch.faults, `${prefetch.requests} requests, ${prefetch.faults} faults`);
  assert.deepEqual(r.comparisons.map((x) => [x.variant, x.versus, x.minSpeedup]), [['http-prefetch-chunked', 'http-ondemand-page', 10]]);
  assert.equal(typeof r.comparisons[0].speedup, 'number');
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.fltrace')), [], 'the round\'s trace is removed after it');
});
