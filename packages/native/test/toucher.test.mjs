// touchPages: native threads touching one word per page, on plain memory
// (content known in advance) and on uffd-registered memory served from this
// thread (every page faults exactly once; the checksum proves what was read).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import native from '@faultline/native';
import testing from '@faultline/native/testing';
import { checkFdsClosedAfterAll } from './fixtures/native-test-env.mjs';

const { constants: C } = native;
const PAGE = native.pageSize();

checkFdsClosedAfterAll();

// First 8 bytes of page p hold p * 0x10001 + 7 (low word) and p ^ 0xabcd (high word).
function pageWord(p) {
  return (BigInt((p * 0x10001 + 7) >>> 0)) | (BigInt((p ^ 0xabcd) >>> 0) << 32n);
}
function expectedChecksum(pages) {
  let sum = 0n;
  for (let p = 0; p < pages; p++) sum ^= pageWord(p);
  return sum;
}
function fillPage(u32, p) {
  u32[(p * PAGE) / 4] = (p * 0x10001 + 7) >>> 0;
  u32[(p * PAGE) / 4 + 1] = (p ^ 0xabcd) >>> 0;
}

test('plain memory: every page read once in any order and thread count, checksum of the first words', async () => {
  const pages = 257; // odd: uneven split between threads
  const map = native.mapAnonymous(pages * PAGE);
  const u32 = new Uint32Array(map.buffer);
  for (let p = 0; p < pages; p++) fillPage(u32, p);
  for (const order of ['sequential', 'random']) {
    for (const threads of [1, 3]) {
      const r = await testing.touchPages(map.address, map.length, { order, threads, seed: 42 });
      assert.equal(r.pages, pages);
      assert.equal(r.checksum, expectedChecksum(pages), `${order} ${threads}`);
      assert.ok(r.elapsedNs > 0 && r.p50Ns <= r.p99Ns);
    }
  }
  const noLat = await testing.touchPages(map.address, map.length, { latencies: false });
  assert.equal(noLat.p50Ns, 0);
  assert.equal(noLat.checksum, expectedChecksum(pages));
});

test('write touches leave the content unchanged', async () => {
  const pages = 16;
  const map = native.mapAnonymous(pages * PAGE);
  const u32 = new Uint32Array(map.buffer);
  for (let p = 0; p < pages; p++) fillPage(u32, p);
  const r = await testing.touchPages(map.address, map.length, { write: true, threads: 2 });
  assert.equal(r.checksum, expectedChecksum(pages));
  for (let p = 0; p < pages; p++) assert.equal(u32[(p * PAGE) / 4], (p * 0x10001 + 7) >>> 0);
});

// Serves faults on `fd` from this thread until `done` settles: one UFFDIO_COPY
// of the page's content per fault. Returns the flags of every fault seen.
async function serve(fd, base, done) {
  const msgs = new Uint8Array(32 * 64);
  const dv = new DataView(msgs.buffer);
  const page = new Uint32Array(PAGE / 4);
  const flags = [];
  let finished = false;
  done.finally(() => (finished = true));
  while (!finished) {
    const n = native.uffdRead(fd, msgs);
    for (let i = 0; i < n; i++) {
      assert.equal(dv.getUint8(i * 32), C.UFFD_EVENT_PAGEFAULT);
      flags.push(Number(dv.getBigUint64(i * 32 + 8, true)));
      const address = Number(dv.getBigUint64(i * 32 + 16, true));
      const p = (address - base) / PAGE;
      page.fill(0);
      page[0] = (p * 0x10001 + 7) >>> 0;
      page[1] = (p ^ 0xabcd) >>> 0;
      assert.equal(native.uffdCopy(fd, address, page, 0, PAGE, 0), PAGE);
    }
    if (n === 0) await tick();
  }
  return flags;
}

for (const [order, threads, write] of [['sequential', 1, false], ['random', 2, false], ['random', 2, true]]) {
  test(`registered memory: ${order}, ${threads} thread(s)${write ? ', write' : ''}: one fault per page, served content read back`, async () => {
    const pages = 64;
    const fd = native.uffdCreate();
    try {
      native.uffdApi(fd, 0);
      const map = native.mapAnonymous(pages * PAGE);
      native.uffdRegister(fd, map.address, map.length, C.UFFDIO_REGISTER_MODE_MISSING);
      const touched = testing.touchPages(map.address, map.length, { order, threads, seed: 9, write });
      const flags = await serve(fd, map.address, touched);
      const r = await touched;
      assert.equal(flags.length, pages, 'each page faulted once');
      assert.ok(flags.every((f) => (f & C.UFFD_PAGEFAULT_FLAG_WRITE) === (write ? C.UFFD_PAGEFAULT_FLAG_WRITE : 0)));
      assert.equal(r.checksum, expectedChecksum(pages));
      assert.ok(r.p50Ns > 0);
    } finally {
      native.closeFd(fd);
    }
  });
}

test('bad arguments throw TypeError naming the problem', () => {
  const map = native.mapAnonymous(PAGE);
  assert.throws(() => testing.touchPages(map.address + 1, PAGE), /page-aligned/);
  assert.throws(() => testing.touchPages(map.address, 0), /non-zero multiple/);
  assert.throws(() => testing.touchPages(map.address, PAGE, { order: 'zigzag' }), /options.order must be 'sequential' or 'random'/);
  assert.throws(() => testing.touchPages(map.address, PAGE, { threads: 0 }), /options.threads must be at least 1/);
  assert.throws(() => testing.touchPages(map.address, PAGE, { threads: 65 }), /options.threads must be an integer in 0..64/);
  assert.throws(() => testing.touchPages(map.address, PAGE, { write: 1 }), /options.write must be a boolean/);
  assert.throws(() => testing.touchPages('x', PAGE), TypeError);
});
