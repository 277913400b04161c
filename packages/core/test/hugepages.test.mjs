// Huge pages (hugetlbfs, 2 MiB): own regions mapped with `pageSize`, served a
// huge page per fault on the native path and in JS, by several native threads
// at once; every byte checked against what the resolver serves. Pages are
// reserved through /sys/kernel/mm/hugepages for the test and given back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import testing from '@faultline/native/testing';
import { FaultHandler, resolvers, fillPattern } from '../dist/index.js';
import { reserveHugePages, tempDir, writePatternFile, firstDifference } from './helpers.mjs';

const HUGE = 2 << 20;
const PAGES = 8;
const SEED = 606;
let tmp;
let memFile;
let fileBytes;
let release;

before(() => {
  tmp = tempDir('faultline-huge-');
  memFile = `${tmp.dir}/mem.bin`;
  fileBytes = writePatternFile(memFile, (PAGES + 2) * HUGE, SEED);
  // A region's huge pages stay in use until its buffer is collected: enough for every region below.
  release = reserveHugePages(7 * PAGES + 2);
});
after(() => {
  release?.();
  tmp?.cleanup();
});

const cases = [
  { name: 'pattern', spec: () => resolvers.pattern({ seed: SEED }), expect: (at, n) => pattern(at, n) },
  { name: 'file at offset 2 MiB', spec: () => resolvers.file(memFile, { offset: HUGE }), expect: (at, n) => fileBytes.subarray(HUGE + at, HUGE + at + n) },
  { name: 'zero', spec: () => resolvers.zero(), expect: (_at, n) => new Uint8Array(n) },
];

function pattern(at, n) {
  const out = new Uint8Array(n);
  fillPattern(SEED, at, out);
  return out;
}

for (const nativeResolvers of [true, false]) {
  test(`huge page regions (${nativeResolvers ? 'native path' : 'JS workers'}): 4 threads fault every huge page once; bytes right`, async () => {
    const handler = await FaultHandler.create({ workers: 2, nativeResolvers });
    try {
      for (const c of cases) {
        const region = await handler.map({ size: PAGES * HUGE, pageSize: HUGE, resolver: c.spec(), readahead: c.name === 'pattern' ? 2 : 1 });
        assert.equal(region.pageSize, HUGE);
        // Each thread touches one byte per 4 KiB: 512 touches per huge page, from 4 threads, all but the first land on an installed page.
        await testing.touchPages(region.address, region.size, { threads: 4, order: 'random', seed: 3, latencies: false });
        assert.equal(await handler.idle(), true);
        const got = new Uint8Array(region.buffer);
        const want = c.expect(0, region.size);
        assert.equal(firstDifference(got, want), -1, `${c.name}: first wrong byte`);
        const s = region.stats();
        assert.equal(s.pagesInstalled, PAGES, `${c.name}: one install per huge page`);
        assert.equal(s.errors, 0);
        if (c.name === 'zero') assert.equal(s.zeroFills, PAGES);
        await region.unmap();
      }
    } finally {
      await handler.close();
    }
  });
}

test("a custom resolver of a huge page region is told the region's page size (info.pageSize)", async () => {
  const handler = await FaultHandler.create({ workers: 2 });
  try {
    const resolver = resolvers.custom(new URL('./fixtures/page-size-resolver.mjs', import.meta.url), {});
    const region = await handler.map({ size: 2 * HUGE, pageSize: HUGE, resolver });
    const words = new Uint32Array(region.buffer);
    assert.equal(words[0], HUGE);
    assert.equal(words[HUGE / 4], HUGE);
    assert.equal(await handler.idle(), true); // counters move just after the install that woke the reader
    assert.equal(region.stats().pagesInstalled, 2);
    await region.unmap();
  } finally {
    await handler.close();
  }
});

test('a page size the kernel does not offer is refused, naming the sizes it does', async () => {
  const handler = await FaultHandler.create({ workers: 1 });
  try {
    await assert.rejects(handler.map({ size: 1 << 20, pageSize: 65536, resolver: resolvers.zero() }), (e) =>
      e.code === 'ERR_FAULTLINE_INVALID_ARGUMENT' && /pageSize must be the system page size \(4096\) or a huge page size.*2097152/.test(e.message));
    await assert.rejects(handler.map({ size: HUGE + 4096, pageSize: HUGE, resolver: resolvers.zero() }), (e) =>
      e.code === 'ERR_FAULTLINE_INVALID_SIZE' && /multiple of the page size \(2097152 bytes\).*round it up to 4194304/.test(e.message));
  } finally {
    await handler.close();
  }
});
