// uffd-events.ts on its own: each non-cooperative event edits the region table
// as documented, is reported, and releases the reader's barrier exactly once
// (docs/ring.md §8) — including events it cannot apply.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, fstatSync } from 'node:fs';
import native from '@faultline/native';
import { UffdEventApplier } from '../dist/worker/uffd-events.js';
import { RegionTable, LookupResult, ENTRY_REGION, ENTRY_ZERO } from '../dist/shared/region-table.js';
import {
  FaultRing,
  W_EVENTS_APPLIED,
  encodeFork,
  encodeRemap,
  encodeRemove,
  encodeUnmap,
  FORK_FLAG_UNSERVED,
  RECORD_WORDS,
} from '../dist/ring/index.js';

const PS = native.pageSize();
const BASE = 0x10000000;

function setup() {
  const table = RegionTable.create(16);
  table.insert({ state: ENTRY_REGION, uffdId: 1, start: BASE, length: 8 * PS, regionId: 4, offset: 100 * PS, readahead: 2, flags: 0 });
  const ring = FaultRing.create(16);
  const applied = [];
  const failed = [];
  const applier = new UffdEventApplier(table, ring, { applied: (e) => applied.push(e), failed: (id, err) => failed.push({ id, code: err.code, message: err.message }) });
  const at = (uffdId, address) => {
    const r = new LookupResult();
    return table.lookup(uffdId, address, r) ? { state: r.state, regionId: r.regionId, offset: r.offset, start: r.start } : null;
  };
  const barrier = () => Atomics.load(ring.i32, W_EVENTS_APPLIED);
  return { applier, applied, failed, at, barrier };
}

test('REMOVE zeroes the range, REMAP moves it with its offsets, UNMAP stops serving it, FORK clones the uffd', () => {
  const s = setup();
  s.applier.apply(encodeRemove(1, BASE + PS, BASE + 2 * PS), 0);
  assert.equal(s.at(1, BASE + PS).state, ENTRY_ZERO);
  assert.equal(s.at(1, BASE).state, ENTRY_REGION);
  s.applier.apply(encodeRemap(1, BASE + 4 * PS, 0x20000000, 2 * PS), 0);
  assert.equal(s.at(1, BASE + 4 * PS), null);
  assert.deepEqual(s.at(1, 0x20000000 + PS), { state: ENTRY_REGION, regionId: 4, offset: 104 * PS, start: 0x20000000 });
  s.applier.apply(encodeUnmap(1, BASE + 6 * PS, BASE + 8 * PS), 0);
  assert.equal(s.at(1, BASE + 7 * PS), null);
  s.applier.apply(encodeFork(1, 9), 0);
  assert.equal(s.at(9, BASE).regionId, 4);
  assert.equal(s.at(9, BASE + PS).state, ENTRY_ZERO, 'the child inherits removed ranges too');
  assert.deepEqual(s.applied.map((e) => e.kind), ['remove', 'remap', 'unmap', 'fork']);
  assert.deepEqual(s.applied[1], { kind: 'remap', uffdId: 1, from: BASE + 4 * PS, to: 0x20000000, length: 2 * PS });
  assert.equal(s.barrier(), 4, 'one barrier release per event');
  assert.equal(s.applier.count, 4);
});

test('an UNSERVED fork (no uffd id left): the child fd is closed, the failure reported, the barrier released', () => {
  const s = setup();
  const fd = openSync('/dev/null', 'r');
  const rec = encodeFork(1, 0);
  rec[0] |= FORK_FLAG_UNSERVED << 8;
  rec[2] = fd;
  s.applier.apply(rec, 0);
  assert.throws(() => fstatSync(fd), { code: 'EBADF' }, 'the child uffd was closed');
  assert.deepEqual(s.failed.map((f) => [f.id, f.code]), [[1, 'ERR_FAULTLINE_FORK_UNSERVED']]);
  assert.equal(s.at(0, BASE), null, 'no uffd was cloned');
  assert.deepEqual(s.applied, []);
  assert.equal(s.barrier(), 1);
});

test('a malformed event (REMOVE without its continuation) is skipped but still releases the barrier', () => {
  const s = setup();
  const rec = encodeRemove(1, BASE, BASE + PS).slice(0, RECORD_WORDS);
  rec[0] &= ~(0xf << 16); // cont 0: the end address is missing
  s.applier.apply(rec, 0);
  assert.equal(s.at(1, BASE).state, ENTRY_REGION, 'the table is untouched');
  assert.deepEqual(s.applied, []);
  assert.equal(s.barrier(), 1, 'the reader would otherwise wait for ever');
});
