// The writes group: plain, async- and sync-tracked writes over a resident
// region, run for real on a small region; the summary's medians and ratios;
// its table lines; the CLI's --filter finds it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runWritesScenario, summariseWrites, writesScenarios, WRITE_MODES } from '../dist/scenarios/writes.js';
import { writesLines } from '../dist/report/writes-table.js';
import { selectScenarios } from '../dist/scenarios/index.js';

const PAGE = 4096;

test('writes group: every mode measured on a real region, every reset listing every page', async () => {
  const [scenario] = writesScenarios(2 << 20, 2);
  assert.equal(scenario.name, 'writes-2mib');
  const result = await runWritesScenario(scenario, { rounds: 2, pageSize: PAGE });
  assert.equal(result.pages, 512);
  assert.equal(result.rounds, 2);
  assert.deepEqual(result.modes.map((m) => m.mode), [...WRITE_MODES]);
  const plain = result.modes[0];
  assert.equal(plain.resetMs, null, 'plain memory has nothing to reset');
  assert.equal(plain.wallRatio, 1);
  for (const m of result.modes) {
    assert.ok(m.wallNsPerPage > 0 && Number.isFinite(m.wallNsPerPage), `${m.mode}: ${m.wallNsPerPage} ns/page`);
    if (m.mode !== 'plain') assert.ok(m.resetMs > 0, `${m.mode}: reset ${m.resetMs} ms`);
  }
  // A write-protect fault per page costs more than a store into a writable page: far more than timing noise.
  const sync = result.modes.find((m) => m.mode === 'sync');
  assert.ok(sync.wallRatio > 2, `sync writes at ${sync.wallRatio}x plain`);
});

test('writes summary: medians over rounds, ratios over plain writes of the same run, table lines', () => {
  const [scenario] = writesScenarios(4 << 20, 2);
  const pages = (4 << 20) / PAGE;
  const sample = (nsPerPage, cpuPerPage, resets) => ({ pages: 2 * pages, writeNs: nsPerPage * 2 * pages, writeCpuNs: cpuPerPage * 2 * pages, resetNs: resets });
  const samples = new Map([
    ['plain', [sample(20, 40, []), sample(30, 50, []), sample(25, 45, [])]],
    ['async', [sample(500, 600, [1e6, 3e6]), sample(400, 400, [2e6, 2e6]), sample(600, 800, [5e6, 2e6])]],
    ['sync', [sample(5000, 6000, [4e6, 4e6]), sample(7500, 9000, [4e6, 4e6]), sample(6000, 7000, [4e6, 6e6])]],
  ]);
  const r = summariseWrites(scenario, PAGE, samples);
  assert.equal(r.rounds, 3);
  const [plain, async, sync] = r.modes;
  assert.equal(plain.wallNsPerPage, 25);
  assert.equal(plain.cpuNsPerPage, 45);
  assert.equal(async.wallNsPerPage, 500);
  assert.equal(async.wallRatio, 20);
  assert.equal(async.resetMs, 2);
  assert.equal(sync.wallRatio, 240);
  assert.equal(sync.cpuRatio, 7000 / 45);
  assert.equal(sync.resetMs, 4);
  const lines = writesLines([r]);
  assert.match(lines[1], /^-- writes: writes-4mib: .*1024 pages, medians of 3 rounds$/);
  const syncRow = lines.find((l) => l.startsWith('sync '));
  assert.match(syncRow, /^sync\s+6000\s+240\.00x\s+7000\s+155\.56x\s+4\.00$/);
  assert.match(lines.find((l) => l.startsWith('plain ')), /^plain\s+25\.0\s+1\.00x\s+45\.0\s+1\.00x\s+-$/);
});

test('--filter writes selects the group; --quick leaves it out', () => {
  assert.deepEqual(selectScenarios(writesScenarios(), false, 'writes').map((s) => s.name), ['writes-64mib']);
  assert.deepEqual(selectScenarios(writesScenarios(), true, null), []);
});
