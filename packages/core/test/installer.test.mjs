// installer.ts on its own: what each kernel answer to an install means for the
// faulting thread and the region's counters (the ioctls are stand-ins that
// answer with chosen results; the real ones are exercised by the handler tests).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import native from '@faultline/native';
import { Installer } from '../dist/worker/installer.js';
import { StatsBlock } from '../dist/shared/region-stats.js';

const PS = native.pageSize();
const { EEXIST, EAGAIN, ENOENT, ESRCH, EFAULT } = native.constants;
const ADDR = 0x7f0000000000;

/** ioctls that answer from `script` (one entry per call, last one repeats) and log every call. */
function ioctls(script) {
  const log = [];
  let i = 0;
  const answer = () => script[Math.min(i++, script.length - 1)];
  return {
    log,
    uffdCopy: (fd, dst, src, off, len) => (log.push(`copy ${len / PS}`), answer()),
    uffdZeropage: (fd, addr, len) => (log.push(`zero ${len / PS}`), answer()),
    uffdPoison: (fd, addr, len) => (log.push(`poison ${len / PS}`), answer()),
    uffdContinue: (fd, addr, len) => (log.push(`continue ${len / PS}`), answer()),
    uffdWake: (fd, addr, len) => (log.push(`wake ${len / PS}`), 0),
    uffdWriteprotect: (fd, addr, len, mode) => (log.push(`wp mode ${mode}`), 0),
  };
}

function installer(script) {
  const stats = StatsBlock.create(2);
  const io = ioctls(script);
  return { inst: new Installer(stats, PS, io), io, stats: () => stats.read(1) };
}

const src = new Uint8Array(4 * PS);

test('bytes done: resolved; pages counted (a partial copy counts what went in)', () => {
  const a = installer([4 * PS]);
  assert.equal(a.inst.install(3, 1, 'copy', ADDR, 4 * PS, src, PS), 0);
  assert.equal(a.stats().pagesInstalled, 4);
  const b = installer([2 * PS]);
  assert.equal(b.inst.install(3, 1, 'copy', ADDR, 4 * PS, src, PS), 0, 'a partial copy still covers the faulting page');
  assert.equal(b.stats().pagesInstalled, 2);
  const z = installer([3 * PS]);
  assert.equal(z.inst.install(3, 1, 'zero', ADDR, 3 * PS, null, PS), 0);
  assert.deepEqual([z.stats().pagesInstalled, z.stats().zeroFills], [3, 3]);
  const p = installer([PS]);
  assert.equal(p.inst.install(3, 1, 'poison', ADDR, PS, null, PS), 0);
  assert.deepEqual([p.stats().poisoned, p.stats().pagesInstalled], [1, 0]);
});

test('EEXIST: someone installed it first; the waiter is woken (EEXIST does not wake it)', () => {
  const a = installer([-EEXIST]);
  assert.equal(a.inst.install(3, 1, 'copy', ADDR, PS, src, PS), 0);
  assert.deepEqual(a.io.log, ['copy 1', 'wake 1']);
  assert.equal(a.stats().eexist, 1);
});

test('EAGAIN: retried, then re-delivered with a WAKE once the retries run out', () => {
  const a = installer([-EAGAIN, -EAGAIN, PS]);
  assert.equal(a.inst.install(3, 1, 'copy', ADDR, PS, src, PS), 0);
  assert.deepEqual(a.io.log, ['copy 1', 'copy 1', 'copy 1']);
  assert.equal(a.stats().retries, 0);
  const b = installer([-EAGAIN]);
  assert.equal(b.inst.install(3, 1, 'zero', ADDR, PS, null, PS), 0);
  assert.equal(b.io.log.filter((l) => l === 'zero 1').length, 65, 'the first try and 64 retries');
  assert.equal(b.io.log.at(-1), 'wake 1');
  assert.equal(b.stats().retries, 1);
});

test('ENOENT / ESRCH: the range or the process is gone; dropped, nobody to wake', () => {
  for (const errno of [ENOENT, ESRCH]) {
    const a = installer([-errno]);
    assert.equal(a.inst.install(3, 1, 'copy', ADDR, PS, src, PS), 0);
    assert.deepEqual(a.io.log, ['copy 1']);
    assert.equal(a.stats().dropped, 1);
  }
});

test('any other errno is returned for the failure policy; nothing is counted', () => {
  const a = installer([-EFAULT]);
  assert.equal(a.inst.install(3, 1, 'copy', ADDR, PS, src, PS), -EFAULT);
  assert.deepEqual(a.io.log, ['copy 1']);
  assert.deepEqual(Object.values(a.stats()).filter((v) => v !== 0), []);
});

test('region -1 (no region) counts nothing; retry wakes; unprotect clears WP with mode 0', () => {
  const a = installer([-EEXIST]);
  assert.equal(a.inst.install(3, -1, 'poison', ADDR, PS, null, PS), 0);
  a.inst.retry(3, 1, ADDR, PS);
  a.inst.unprotect(3, 1, ADDR, PS);
  assert.deepEqual(a.io.log, ['poison 1', 'wake 1', 'wake 1', 'wp mode 0']);
  assert.deepEqual([a.stats().eexist, a.stats().retries], [0, 1]);
});

test('huge pages (hugetlbfs has no ZEROPAGE): a zero page is a COPY of zeros, and counts are in huge pages', () => {
  const HUGE = 512 * PS;
  const a = installer([2 * HUGE]);
  assert.equal(a.inst.install(3, 1, 'zero', ADDR, 2 * HUGE, null, HUGE), 0);
  assert.deepEqual(a.io.log, ['copy 1024']);
  assert.deepEqual([a.stats().pagesInstalled, a.stats().zeroFills], [2, 2]);
  const b = installer([-EEXIST]);
  assert.equal(b.inst.install(3, 1, 'copy', ADDR, HUGE, new Uint8Array(HUGE), HUGE), 0);
  assert.deepEqual(b.io.log, ['copy 512', 'wake 512'], 'the wake covers the whole huge page');
});
