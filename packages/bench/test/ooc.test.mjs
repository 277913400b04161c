// The out-of-core group: the C reference (faultline_ooc_c) keeps its budget
// and leaves the file as the workload must (checked here in JS, apart from
// the native check), the native check catches a wrong element, and the
// scenario end to end on a small array (both sides, the table, the summary).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import testing from '@faultline/native/testing';
import { HandlerPool } from '../dist/faultline.js';
import { programPath } from '../dist/native-program.js';
import { summariseOocRuns } from '../dist/ooc/results.js';
import { runOocScenario } from '../dist/ooc/runner.js';
import { oocLines, oocSummaryLines } from '../dist/report/ooc-table.js';
import { OOC_PROGRAM, oocArgs, oocScenarios } from '../dist/scenarios/out-of-core.js';

const run = promisify(execFile);
const PAGE = 4096;
const SEED = 9;
const SIZES = { fileBytes: 4 << 20, budgetBytes: 1 << 20, evictToBytes: 768 << 10, updates: 20_000 };
const ELEMENTS = SIZES.fileBytes / 8;
const dir = mkdtempSync(join(tmpdir(), 'faultline-ooc-test-'));
const handlers = new HandlerPool();
after(async () => {
  await handlers.closeAll();
  rmSync(dir, { recursive: true, force: true });
});

/** splitmix64, written again here from its definition (not shared with the native code). */
function* draws(seed, count) {
  const mask = (1n << 64n) - 1n;
  let state = BigInt(seed);
  for (let k = 0; k < count; k++) {
    state = (state + 0x9e3779b97f4a7c15n) & mask;
    let z = state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & mask;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & mask;
    yield z ^ (z >> 31n);
  }
}

/** Elements of the file that differ from 3i + 1 + (times i was drawn). */
function wrongInJs(path) {
  const bytes = readFileSync(path);
  const a = new BigUint64Array(bytes.buffer, bytes.byteOffset, bytes.length / 8);
  assert.equal(a.length, ELEMENTS);
  const times = new Uint32Array(ELEMENTS);
  for (const r of draws(SEED, SIZES.updates)) times[Number(r % BigInt(ELEMENTS))]++;
  let wrong = 0;
  for (let i = 0; i < ELEMENTS; i++) if (a[i] !== 3n * BigInt(i) + 1n + BigInt(times[i])) wrong++;
  return wrong;
}

test('faultline_ooc_c keeps its budget, writes back every changed page, and leaves the file right', async () => {
  const file = join(dir, 'c.bin');
  const { stdout } = await run(programPath(OOC_PROGRAM), oocArgs(file, SIZES, SEED));
  const r = JSON.parse(stdout.trim());
  assert.equal(r.wrong, 0);
  assert.equal(r.budgetPages, SIZES.budgetBytes / PAGE);
  assert.equal(r.targetPages, SIZES.evictToBytes / PAGE);
  // It evicts in the fault path before installing: never a page over the budget.
  assert.equal(r.maxResident, r.budgetPages);
  // Every page the workload brought in was written to (the stream writes all, each update writes its page):
  // all of them differ from the file when evicted, and the flush leaves none resident.
  assert.equal(r.evicted, r.streamFaults + r.randomFaults);
  assert.equal(r.writtenBack, r.evicted);
  assert.equal(r.streamFaults, SIZES.fileBytes / PAGE);
  assert.ok(r.randomFaults > 0 && r.randomFaults <= SIZES.updates);
  assert.equal(wrongInJs(file), 0);

  // The native check (both sides use it) sees one wrong element, and a short file.
  const bytes = readFileSync(file);
  new BigUint64Array(bytes.buffer, bytes.byteOffset, ELEMENTS)[12345] += 1n;
  writeFileSync(file, bytes);
  assert.equal(testing.oocCheckFile(file, ELEMENTS, SIZES.updates, SEED), 1);
  writeFileSync(file, bytes.subarray(0, bytes.length - PAGE));
  assert.equal(testing.oocCheckFile(file, ELEMENTS, SIZES.updates, SEED), PAGE / 8 + 1);
  assert.throws(() => testing.oocCheckFile(join(dir, 'missing.bin'), ELEMENTS, SIZES.updates, SEED), { code: 'ENOENT' });
});

test('faultline_ooc_c refuses a budget that is not below the array', async () => {
  await assert.rejects(run(programPath(OOC_PROGRAM), oocArgs(join(dir, 'x.bin'), { ...SIZES, budgetBytes: SIZES.fileBytes }, SEED)), (err) => {
    assert.equal(err.code, 2);
    assert.match(err.stderr, /--budget must be/);
    return true;
  });
});

test('the out-of-core scenario runs both sides on a small array and reports them', async () => {
  const [scenario] = oocScenarios(true);
  const ctx = { size: 1 << 20, pageSize: PAGE, seed: SEED, file: join(dir, 'unused.bin'), handlers };
  const result = await runOocScenario({ ...scenario, sizes: SIZES }, ctx, { rounds: 1, baselineOnly: false });
  assert.equal(result.fileBytes, SIZES.fileBytes);
  for (const side of [result.c, result.faultline]) {
    assert.ok(side !== null);
    assert.ok(side.streamPagesPerSec > 0 && side.randomPagesPerSec > 0 && side.updatesPerSec > 0);
    // Both evict with writeback and flush. The stream pass changes every element, so every page
    // went back at least once, and no page went back more often than it was evicted. C evicts
    // inside its fault path, after the previous page's writes: every page it evicted had been
    // changed, so all of them went back. Faultline's evictor runs beside the faults and can move a
    // page out between the read that faulted it in and the workload's write: equal to the file, it
    // is not written back (the round's file check would catch a lost write).
    assert.ok(side.writtenBackBytes >= SIZES.fileBytes, `${side.writtenBackBytes} bytes written back`);
    if (side === result.c) assert.equal(side.writtenBackBytes, side.evicted * PAGE);
    else assert.ok(side.writtenBackBytes <= side.evicted * PAGE, `${side.writtenBackBytes} bytes for ${side.evicted} pages`);
    assert.ok(side.evicted >= SIZES.fileBytes / PAGE);
    assert.ok(side.maxResidentBytes > 0);
    assert.equal(side.streamRoundsMs.length, 1);
  }
  assert.ok(result.c.maxResidentBytes <= SIZES.budgetBytes);
  assert.ok(result.streamRatio > 0 && result.randomRatio > 0);
  assert.equal(result.streamRatio, result.faultline.streamPagesPerSec / result.c.streamPagesPerSec);

  const text = oocLines([result]).join('\n');
  assert.match(text, /-- out-of-core: ooc-umap: 4 MiB array, 1 MiB budget \(evict to 0\.75 MiB\), 20000 random updates/);
  assert.match(text, /^c \(blocking, evicts in fault path\) /m);
  assert.match(text, /^faultline /m);
  assert.match(text, /faultline \/ c: stream \d+\.\d\dx, random \d+\.\d\dx/);
  const summary = oocSummaryLines(summariseOocRuns([[result], [result]])).join('\n');
  assert.match(summary, new RegExp(`faultline / c: stream ${result.streamRatio.toFixed(2)}x \\(`));

  // --baseline-only: the C side alone, no ratio.
  const cOnly = await runOocScenario({ ...scenario, sizes: SIZES }, ctx, { rounds: 1, baselineOnly: true });
  assert.equal(cOnly.faultline, null);
  assert.equal(cOnly.streamRatio, null);
  assert.doesNotMatch(oocLines([cOnly]).join('\n'), /faultline \/ c/);
});
