// The shared region table: lookups, and the edits non-cooperative events make.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RegionTable, LookupResult, ENTRY_REGION, ENTRY_ZERO } from '../dist/shared/region-table.js';

const P = 4096;
const region = (uffdId, start, pages, regionId, offset = 0) => ({
  state: ENTRY_REGION, uffdId, start, length: pages * P, regionId, offset, readahead: 1, flags: 0,
});
const at = (table, uffdId, address) => {
  const r = new LookupResult();
  return table.lookup(uffdId, address, r) ? { ...r } : null;
};

test('lookup finds the region by uffd and address, with its resolver offset', () => {
  const t = RegionTable.create(16);
  t.insert(region(1, 0x10000, 4, 7, 0x100000));
  t.insert(region(2, 0x10000, 4, 8));
  assert.equal(at(t, 1, 0x10000 + 2 * P).regionId, 7);
  assert.equal(at(t, 2, 0x10000).regionId, 8);
  assert.equal(at(t, 1, 0x10000 + 4 * P), null);
  assert.equal(at(t, 3, 0x10000), null);
});

test('zeroRange (REMOVE) overrides part of a region; the rest still resolves', () => {
  const t = RegionTable.create(16);
  t.insert(region(1, 0x10000, 8, 3, 0x5000));
  t.zeroRange(1, 0x10000 + 2 * P, 0x10000 + 4 * P);
  assert.equal(at(t, 1, 0x10000 + 2 * P).state, ENTRY_ZERO);
  assert.equal(at(t, 1, 0x10000 + 3 * P).state, ENTRY_ZERO);
  const tail = at(t, 1, 0x10000 + 5 * P);
  assert.equal(tail.state, ENTRY_REGION);
  assert.equal(tail.offset + (0x10000 + 5 * P - tail.start), 0x5000 + 5 * P, 'resolver offset preserved across the split');
  assert.equal(at(t, 1, 0x10000).offset, 0x5000);
});

test('remap (REMAP) moves part of a region, keeping resolver offsets', () => {
  const t = RegionTable.create(16);
  t.insert(region(1, 0x100000, 8, 3, 0));
  t.remap(1, 0x100000 + 4 * P, 0x900000, 4 * P);
  assert.equal(at(t, 1, 0x100000 + 5 * P), null, 'old range no longer served');
  const moved = at(t, 1, 0x900000 + P);
  assert.equal(moved.offset + (0x900000 + P - moved.start), 5 * P);
  assert.equal(at(t, 1, 0x100000 + 3 * P).regionId, 3);
});

test('unmapRange (UNMAP) shrinks; cloneUffd (FORK) copies regions and zero ranges to the child', () => {
  const t = RegionTable.create(16);
  t.insert(region(1, 0x100000, 8, 3, 0));
  t.zeroRange(1, 0x100000, 0x100000 + P);
  t.unmapRange(1, 0x100000 + 6 * P, 0x100000 + 8 * P);
  assert.equal(at(t, 1, 0x100000 + 7 * P), null);
  t.cloneUffd(1, 9);
  assert.equal(at(t, 9, 0x100000).state, ENTRY_ZERO);
  assert.equal(at(t, 9, 0x100000 + 5 * P).regionId, 3);
  assert.equal(at(t, 9, 0x100000 + 7 * P), null);
  t.removeUffd(1);
  assert.equal(at(t, 1, 0x100000 + 5 * P), null);
  assert.equal(at(t, 9, 0x100000 + 5 * P).regionId, 3);
});

test('a full table says how to fix it', () => {
  const t = RegionTable.create(2);
  t.insert(region(1, 0, 1, 1));
  t.insert(region(1, P, 1, 2));
  assert.throws(() => t.insert(region(1, 2 * P, 1, 3)), { code: 'ERR_FAULTLINE_TABLE_FULL', message: /regionTableCapacity|larger/ });
});
