// Mappings as SharedArrayBuffers, memfds and the raw mm syscalls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import native from '@faultline/native';
import { addonPath, checkFdsClosedAfterAll } from './fixtures/native-test-env.mjs';

const { constants: C } = native;
const PAGE = native.pageSize();

checkFdsClosedAfterAll();

// Runs `code` (CommonJS, `w` = workerData, `native` = the addon) in a worker
// and resolves with the value it posts.
function inWorker(code, workerData) {
  const source = `
    const { parentPort, workerData: w } = require('node:worker_threads');
    const native = require(${JSON.stringify(addonPath)});
    parentPort.postMessage((() => { ${code} })());
  `;
  const worker = new Worker(source, { eval: true, workerData });
  return new Promise((resolve, reject) => {
    let value;
    worker.once('message', (v) => (value = v));
    worker.once('error', reject);
    worker.once('exit', () => resolve(value));
  });
}

test('pageSize is a power of two', () => {
  assert.ok(PAGE >= 4096 && (PAGE & (PAGE - 1)) === 0);
});

test('mapAnonymous: a SharedArrayBuffer over page-rounded memory, shared with a worker', async () => {
  const map = native.mapAnonymous(PAGE + 1);
  assert.ok(map.buffer instanceof SharedArrayBuffer);
  assert.equal(map.length, 2 * PAGE);
  assert.equal(map.buffer.byteLength, 2 * PAGE);
  assert.equal(map.address % PAGE, 0);
  assert.equal(native.viewAddress(new Uint8Array(map.buffer)), map.address);
  const view = new Uint8Array(map.buffer);
  view[10] = 0xab;
  view[PAGE + 10] = 0xcd;
  // The worker sees our bytes, at the same address, and its writes are ours.
  const seen = await inWorker(
    `const v = new Uint8Array(w.buffer);
     const seen = [v[10], v[w.page + 10], native.viewAddress(v)];
     v[20] = 0x11; v[2 * w.page - 1] = 0x22;
     return seen;`,
    { buffer: map.buffer, page: PAGE },
  );
  assert.deepEqual(seen, [0xab, 0xcd, map.address]);
  assert.equal(view[20], 0x11);
  assert.equal(view[2 * PAGE - 1], 0x22);
});

test('mapAnonymous({ shared: true }) and bad lengths', () => {
  const map = native.mapAnonymous(PAGE, { shared: true });
  new Uint32Array(map.buffer)[0] = 0xdeadbeef;
  assert.equal(new DataView(map.buffer).getUint32(0, true), 0xdeadbeef);
  assert.throws(() => native.mapAnonymous(0), TypeError);
  assert.throws(() => native.mapAnonymous(-1), TypeError);
  assert.throws(() => native.mapAnonymous(PAGE, { shared: 'yes' }), /options.shared must be a boolean/);
});

test('a memfd mapped twice shows the same bytes; a private mapping does not write through', () => {
  const fd = native.memfdCreate('faultline-memory-test', 2 * PAGE);
  try {
    const a = native.mapFd(fd, 2 * PAGE, 0);
    const b = native.mapFd(fd, 2 * PAGE, 0);
    const secondPage = native.mapFd(fd, PAGE, PAGE, { readOnly: true });
    assert.notEqual(a.address, b.address);
    const bytes = Uint8Array.from({ length: 2 * PAGE }, (_, i) => (i * 13 + 1) & 0xff);
    new Uint8Array(a.buffer).set(bytes);
    assert.deepEqual(new Uint8Array(b.buffer), bytes);
    assert.deepEqual(new Uint8Array(secondPage.buffer), bytes.subarray(PAGE));

    const priv = native.mapFd(fd, PAGE, 0, { private: true });
    assert.equal(new Uint8Array(priv.buffer)[0], bytes[0], 'a private mapping starts with the file bytes');
    new Uint8Array(priv.buffer)[0] = bytes[0] ^ 0xff;
    assert.equal(new Uint8Array(a.buffer)[0], bytes[0], 'private writes stay private');

    assert.throws(() => native.mapFd(fd, PAGE, 1), (err) => err.code === 'EINVAL' && err.syscall === 'mmap');
  } finally {
    native.closeFd(fd);
  }
});

test('madvise(MADV_DONTNEED) zeroes private anonymous memory', () => {
  const map = native.mapAnonymous(3 * PAGE);
  const view = new Uint8Array(map.buffer);
  view.fill(0x5c);
  native.madvise(map.address + PAGE, PAGE, C.MADV_DONTNEED);
  assert.ok(view.subarray(0, PAGE).every((b) => b === 0x5c));
  assert.ok(view.subarray(PAGE, 2 * PAGE).every((b) => b === 0));
  assert.ok(view.subarray(2 * PAGE).every((b) => b === 0x5c));
  assert.throws(() => native.madvise(map.address + 1, PAGE, C.MADV_DONTNEED), (err) => {
    assert.equal(err.code, 'EINVAL');
    assert.equal(err.errno, -22);
    assert.equal(err.syscall, 'madvise');
    return true;
  });
});

test('mremap(MAYMOVE|FIXED|DONTUNMAP) moves pages onto another mapping', () => {
  // DONTUNMAP leaves the old range mapped (and empty), so both
  // SharedArrayBuffers still own exactly the ranges they will unmap.
  const from = native.mapAnonymous(PAGE);
  const to = native.mapAnonymous(PAGE);
  new Uint8Array(from.buffer).fill(0x42);
  const flags = C.MREMAP_MAYMOVE | C.MREMAP_FIXED | C.MREMAP_DONTUNMAP;
  assert.equal(native.mremap(from.address, PAGE, PAGE, flags, to.address), to.address);
  assert.ok(new Uint8Array(to.buffer).every((b) => b === 0x42));
  assert.ok(new Uint8Array(from.buffer).every((b) => b === 0));
  assert.throws(() => native.mremap(from.address + 1, PAGE, PAGE, 0), (err) => err.code === 'EINVAL');
});

test('munmap errors are Node-shaped', () => {
  assert.throws(() => native.munmap(1, PAGE), (err) => err.code === 'EINVAL' && err.syscall === 'munmap');
});

test('viewAddress includes byteOffset; gettid differs per thread', async () => {
  const map = native.mapAnonymous(PAGE);
  assert.equal(native.viewAddress(new Int32Array(map.buffer, 64, 4)), map.address + 64);
  assert.equal(native.viewAddress(new DataView(map.buffer, 7)), map.address + 7);
  assert.throws(() => native.viewAddress({}), TypeError);
  assert.equal(native.gettid(), process.pid, 'the main thread is the thread-group leader');
  const workerTid = await inWorker('return native.gettid();');
  assert.equal(typeof workerTid, 'number');
  assert.notEqual(workerTid, process.pid);
});

test('the mapping is unmapped once its SharedArrayBuffer is collected', () => {
  // In a child with --expose-gc, so collection can be forced and observed in /proc/self/maps.
  const script = `
    const native = require(${JSON.stringify(addonPath)});
    const fs = require('node:fs');
    const mapped = (a) => fs.readFileSync('/proc/self/maps', 'utf8').split('\\n')
      .some((l) => l && parseInt(l.split('-')[0], 16) <= a && a < parseInt(l.split('-')[1], 16));
    let map = native.mapAnonymous(64 * native.pageSize());
    const address = map.address;
    new Uint8Array(map.buffer)[0] = 1;
    const before = mapped(address);
    map = null;
    let after = true;
    for (let i = 0; i < 20 && after; i++) { globalThis.gc(); after = mapped(address); }
    process.stdout.write(JSON.stringify({ before, after }));
  `;
  const child = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(child.status, 0, child.stderr);
  assert.deepEqual(JSON.parse(child.stdout), { before: true, after: false });
});
