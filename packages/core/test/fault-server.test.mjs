// The fault path's rules, tested on their own: fault.ts (lookup -> resolve ->
// what gets installed) and failure.ts (what a fault that cannot be served
// gets), with a recording installer in place of the ioctls. Every result a
// resolver can give, every table state and every failure branch is covered;
// the installs these produce against a real uffd are covered by the handler
// tests and fault-server-uffd.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import native from '@faultline/native';
import { FaultServer } from '../dist/worker/fault.js';
import { FailurePolicy } from '../dist/worker/failure.js';
import { ScratchPool } from '../dist/worker/scratch.js';
import { RegionTable, ENTRY_REGION, FLAG_ON_ERROR_ZERO } from '../dist/shared/region-table.js';
import { StatsBlock, STAT_NAMES } from '../dist/shared/region-stats.js';
import { UffdTable } from '../dist/shared/uffd-table.js';
import { FLAG_MINOR, FLAG_WP, FLAG_WRITE } from '../dist/ring/layout.js';

const PS = native.pageSize();
const BASE = 0x7f0000000000;
const UFFD_ID = 3;
const FD = 42;
const EFAULT = -14;

/** Records every install; `answers` maps an install kind to what it returns (default 0: resolved). */
class RecordingInstaller {
  constructor(answers = {}) {
    this.calls = [];
    this.answers = answers;
  }
  install(fd, regionId, kind, address, length, source, pageSize) {
    assert.equal(pageSize, this.pageSize ?? PS, 'installs use the range page size');
    const bytes = source ? new Uint8Array(source.buffer, source.byteOffset, length).slice() : null;
    this.calls.push({ op: 'install', fd, regionId, kind, address, length, bytes });
    return this.answers[kind] ?? 0;
  }
  retry(fd, regionId, address, pageSize) {
    this.calls.push({ op: 'retry', fd, regionId, address });
  }
  unprotect(fd, regionId, address, pageSize) {
    this.calls.push({ op: 'unprotect', fd, regionId, address });
  }
  wake(fd, address, pageSize) {
    this.calls.push({ op: 'wake', fd, address });
  }
  ops() {
    return this.calls.map((c) => (c.op === 'install' ? `${c.kind}@${(c.address - BASE) / PS}+${c.length / PS}` : `${c.op}@${(c.address - BASE) / PS}`));
  }
}

/**
 * A fault server over one region of `pages` pages at BASE (region id 1,
 * resolver offset `offset`), with `resolver` loaded for it.
 */
function setup({ resolver, pages = 8, readahead = 1, onError = 'sigbus', offset = 0, answers = {}, retries = 0, timeoutMs = 5000 } = {}) {
  const table = RegionTable.create(16);
  table.insert({
    state: ENTRY_REGION,
    uffdId: UFFD_ID,
    start: BASE,
    length: pages * PS,
    regionId: 1,
    offset,
    readahead,
    flags: onError === 'zero' ? FLAG_ON_ERROR_ZERO : 0,
    pageSize: PS,
  });
  const uffds = UffdTable.create();
  uffds.fds[UFFD_ID] = FD;
  const stats = StatsBlock.create(4);
  const installer = new RecordingInstaller(answers);
  const reports = [];
  const notices = [];
  const failures = new FailurePolicy(
    installer,
    stats,
    (regionId, address, offset, action, err) => reports.push({ regionId, address, offset, action, code: err.code, message: err.message }),
    PS,
    (line) => notices.push(line),
    (id) => (id === 1 ? 'the-region' : ''),
  );
  const observed = [];
  const state = { closing: false, calls: [] };
  const deadlines = {
    closing: () => state.closing,
    resolveTimeoutMs: () => timeoutMs,
    retries: () => retries,
    beginCall: (uffdId, page, regionId) => state.calls.push(['begin', uffdId, page, regionId]),
    endCall: () => state.calls.push(['end']),
  };
  const server = new FaultServer({
    pageSize: PS,
    table,
    uffds,
    stats,
    resolvers: { get: (id) => (id === 1 ? resolver : undefined) },
    installer,
    failures,
    scratch: new ScratchPool(PS),
    deadlines,
    observe: (...args) => observed.push(args),
  });
  const counters = () => stats.read(1);
  return { server, table, installer, reports, counters, observed, notices, state };
}

const page = (n) => BASE + n * PS;
const filler = (byte) => ({ resolve: (req, out) => void out.fill(byte) });

test('undefined: the filled scratch is installed, one COPY of the readahead run, clipped at the region end', () => {
  const seen = [];
  const s = setup({ pages: 8, readahead: 4, offset: 10 * PS, resolver: { resolve: (req, out) => { seen.push({ ...req, outLength: out.length }); out.fill(0xab); } } });
  assert.equal(s.server.serve(UFFD_ID, FLAG_WRITE, 77, page(1) + 123), undefined);
  assert.equal(s.server.serve(UFFD_ID, 0, 0, page(6)), undefined);
  assert.deepEqual(s.installer.ops(), ['copy@1+4', 'copy@6+2']);
  assert.ok(s.installer.calls.every((c) => c.bytes.every((b) => b === 0xab)), 'the installed bytes are what the resolver wrote');
  assert.deepEqual(seen[0], { offset: 11 * PS, length: 4 * PS, address: page(1), write: true, minor: false, pageSize: PS, regionId: 1, uffdId: UFFD_ID, outLength: 4 * PS });
  assert.deepEqual(seen[1], { offset: 16 * PS, length: 2 * PS, address: page(6), write: false, minor: false, pageSize: PS, regionId: 1, uffdId: UFFD_ID, outLength: 2 * PS });
  assert.equal(s.counters().faults, 2);
  assert.equal(s.counters().resolverCalls, 2);
  assert.deepEqual(s.observed, [[UFFD_ID, 1, page(1) + 123, FLAG_WRITE, 77], [UFFD_ID, 1, page(6), 0, 0]]);
  assert.deepEqual(s.reports, []);
});

test('a minor fault asks for one page whatever the readahead', () => {
  const lengths = [];
  const s = setup({ readahead: 4, resolver: { resolve: (req) => { lengths.push(req.length); return 'continue'; } } });
  s.server.serve(UFFD_ID, FLAG_MINOR, 0, page(0));
  assert.deepEqual(lengths, [PS]);
  assert.deepEqual(s.installer.ops(), ['continue@0+1']);
});

test("{ filled } installs whole pages of scratch; { source } installs the view's whole pages", () => {
  const src = new Uint8Array(3 * PS + 100).fill(7);
  const answers = [{ filled: PS + PS / 2 }, { source: src }, { source: src.subarray(0, PS) }];
  const s = setup({ readahead: 4, resolver: { resolve: (req, out) => { out.fill(9); return answers.shift(); } } });
  s.server.serve(UFFD_ID, 0, 0, page(0));
  s.server.serve(UFFD_ID, 0, 0, page(4));
  s.server.serve(UFFD_ID, 0, 0, page(5));
  assert.deepEqual(s.installer.ops(), ['copy@0+1', 'copy@4+3', 'copy@5+1']);
  assert.ok(s.installer.calls[0].bytes.every((b) => b === 9), 'filled: from scratch');
  assert.ok(s.installer.calls[1].bytes.every((b) => b === 7), 'source: from the view');
  assert.deepEqual(s.reports, []);
});

test("'zero', 'poison', 'continue' and 'retry' become ZEROPAGE (whole run), POISON, CONTINUE (whole run: the resolver may have put it all in the page cache) and a WAKE", () => {
  const answers = ['zero', 'poison', 'continue', 'retry'];
  const s = setup({ readahead: 2, resolver: { resolve: () => answers.shift() } });
  for (const p of [0, 2, 4, 6]) s.server.serve(UFFD_ID, 0, 0, page(p));
  assert.deepEqual(s.installer.ops(), ['zero@0+2', 'poison@2+1', 'continue@4+2', 'retry@6']);
  assert.deepEqual(s.reports, [], 'a poison the resolver asked for is an answer, not a failure');
});

test('a write-protect fault lifts the protection and never calls the resolver', () => {
  let calls = 0;
  const s = setup({ resolver: { resolve: () => void calls++ } });
  s.server.serve(UFFD_ID, FLAG_WRITE | FLAG_WP, 0, page(3) + 8);
  assert.deepEqual(s.installer.ops(), ['unprotect@3']);
  assert.equal(calls, 0);
  assert.equal(s.counters().faults, 1);
});

test('a removed range (REMOVE) reads as zero whatever the resolver says', () => {
  let calls = 0;
  const s = setup({ readahead: 4, resolver: { resolve: () => void calls++ } });
  s.table.zeroRange(UFFD_ID, page(2), page(4));
  s.server.serve(UFFD_ID, 0, 0, page(3));
  assert.deepEqual(s.installer.ops(), ['zero@3+1']);
  assert.equal(calls, 0);
});

test('a region whose resolver is gone (being unmapped) gets its fault re-delivered', () => {
  const s = setup({ resolver: undefined });
  s.server.serve(UFFD_ID, 0, 0, page(1));
  assert.deepEqual(s.installer.ops(), ['retry@1']);
  assert.deepEqual(s.reports, []);
});

test('an address in no region is poisoned and reported as ERR_FAULTLINE_UNKNOWN_ADDRESS', () => {
  const s = setup({ resolver: filler(1) });
  s.server.serve(UFFD_ID, 0, 0, page(20));
  s.server.serve(UFFD_ID + 1, 0, 0, page(0));
  assert.deepEqual(s.installer.ops(), ['poison@20+1', 'poison@0+1']);
  assert.deepEqual(s.reports.map((r) => [r.regionId, r.code, r.action]), [
    [-1, 'ERR_FAULTLINE_UNKNOWN_ADDRESS', 'poisoned'],
    [-1, 'ERR_FAULTLINE_UNKNOWN_ADDRESS', 'poisoned'],
  ]);
  assert.equal(s.counters().faults, 0, 'nothing is counted against a region');
});

test('a throwing resolver: SIGBUS under the default policy, a zero page under onError zero; both reported and counted', () => {
  const boom = { resolve: () => { throw Object.assign(new Error('disk on fire'), { code: 'EIO' }); } };
  for (const [onError, expected, action] of [['sigbus', 'poison@2+1', 'poisoned'], ['zero', 'zero@2+1', 'zeroed']]) {
    const s = setup({ resolver: boom, onError, offset: 5 * PS });
    s.server.serve(UFFD_ID, 0, 0, page(2));
    assert.deepEqual(s.installer.ops(), [expected]);
    assert.deepEqual(s.reports, [{ regionId: 1, address: page(2), offset: 7 * PS, action, code: 'EIO', message: 'disk on fire' }]);
    assert.equal(s.counters().errors, 1);
    if (onError === 'sigbus') {
      // Said on stderr before the page is poisoned: a SIGBUS may end the process before any event is seen.
      assert.deepEqual(s.notices, [`faultline: SIGBUS for the thread touching 0x${page(2).toString(16)} (region 1 "the-region", offset ${7 * PS}): EIO: disk on fire\n`]);
    } else {
      assert.deepEqual(s.notices, [], 'no SIGBUS, no notice');
    }
  }
});

test('invalid results are ERR_FAULTLINE_RESOLVER_RESULT under the region policy', () => {
  const bad = [{ filled: PS - 1 }, { source: new Uint8Array(100) }, 'explode', 42, { nothing: true }];
  for (const result of bad) {
    const s = setup({ resolver: { resolve: () => result } });
    s.server.serve(UFFD_ID, 0, 0, page(0));
    assert.deepEqual(s.installer.ops(), ['poison@0+1'], JSON.stringify(result));
    assert.equal(s.reports[0].code, 'ERR_FAULTLINE_RESOLVER_RESULT');
    assert.equal(s.reports[0].action, 'poisoned');
  }
});

test('failure fallbacks: POISON refused -> zero page; zero refused too -> a bare WAKE, reported as none', () => {
  const boom = { resolve: () => { throw new Error('no'); } };
  const a = setup({ resolver: boom, answers: { poison: EFAULT } });
  a.server.serve(UFFD_ID, 0, 0, page(1));
  assert.deepEqual(a.installer.ops(), ['poison@1+1', 'zero@1+1']);
  assert.equal(a.reports[0].action, 'zeroed');
  const b = setup({ resolver: boom, answers: { poison: EFAULT, zero: EFAULT } });
  b.server.serve(UFFD_ID, 0, 0, page(1));
  assert.deepEqual(b.installer.ops(), ['poison@1+1', 'zero@1+1', 'wake@1']);
  assert.equal(b.reports[0].action, 'none');
});

test('an install that fails is ERR_FAULTLINE_INSTALL_FAILED under the policy; a failed resolver POISON falls back to zero', () => {
  const a = setup({ resolver: filler(3), answers: { copy: EFAULT } });
  a.server.serve(UFFD_ID, 0, 0, page(0));
  assert.deepEqual(a.installer.ops(), ['copy@0+1', 'poison@0+1']);
  assert.equal(a.reports[0].code, 'ERR_FAULTLINE_INSTALL_FAILED');
  assert.match(a.reports[0].message, /errno 14/);
  const b = setup({ resolver: { resolve: () => 'poison' }, answers: { poison: EFAULT } });
  b.server.serve(UFFD_ID, 0, 0, page(0));
  assert.deepEqual(b.installer.ops(), ['poison@0+1', 'zero@0+1'], 'no second POISON attempt');
  assert.equal(b.reports[0].action, 'zeroed');
});

test('async answers: each in-flight fault keeps its own request and scratch; a rejection gets the policy', async () => {
  const pending = [];
  const resolver = {
    resolve: (req, out) =>
      new Promise((resolve, reject) => pending.push({ req: { ...req }, out, resolve, reject })),
  };
  const s = setup({ resolver, onError: 'zero' });
  const p0 = s.server.serve(UFFD_ID, 0, 0, page(0));
  const p1 = s.server.serve(UFFD_ID, 0, 0, page(1));
  const p2 = s.server.serve(UFFD_ID, 0, 0, page(2));
  assert.ok(p0 instanceof Promise && p1 instanceof Promise && p2 instanceof Promise);
  assert.deepEqual(pending.map((p) => p.req.address), [page(0), page(1), page(2)]);
  assert.notEqual(pending[0].out.buffer, pending[1].out.buffer, 'two faults in flight never share scratch');
  pending[1].out.fill(0x11);
  pending[1].resolve();
  pending[0].out.fill(0x22);
  pending[0].resolve({ filled: PS });
  pending[2].reject(new Error('late'));
  await Promise.all([p0, p1, p2]);
  assert.deepEqual(s.installer.ops(), ['copy@1+1', 'copy@0+1', 'zero@2+1']);
  assert.ok(s.installer.calls[0].bytes.every((b) => b === 0x11));
  assert.ok(s.installer.calls[1].bytes.every((b) => b === 0x22));
  assert.deepEqual(s.reports.map((r) => [r.address, r.action, r.message]), [[page(2), 'zeroed', 'late']]);
});

test('every synchronous resolver call is published while it runs (for the hung-resolver watchdog)', () => {
  const s = setup({ resolver: filler(1) });
  s.server.serve(UFFD_ID, 0, 0, page(3) + 5);
  assert.deepEqual(s.state.calls, [['begin', UFFD_ID, page(3), 1], ['end']]);
  const t = setup({ resolver: { resolve: () => { throw new Error('x'); } } });
  t.server.serve(UFFD_ID, 0, 0, page(0));
  assert.deepEqual(t.state.calls, [['begin', UFFD_ID, page(0), 1], ['end']], 'ended on a throw too');
});

test('closing: a fault read after close() began gets the region policy without a resolver call', () => {
  let calls = 0;
  const s = setup({ resolver: { resolve: () => void calls++ }, onError: 'zero' });
  s.state.closing = true;
  s.server.serve(UFFD_ID, 0, 0, page(1));
  assert.equal(calls, 0);
  assert.deepEqual(s.installer.ops(), ['zero@1+1']);
  assert.deepEqual(s.reports.map((r) => [r.code, r.action]), [['ERR_FAULTLINE_CLOSED', 'zeroed']]);
});

test('onError { retry: 2 }: a failing resolver is called again, twice at most, then the policy', async () => {
  let calls = 0;
  const flaky = (failures) => ({ resolve: (req, out) => { if (calls++ < failures) throw new Error(`try ${calls}`); out.fill(5); } });
  const s = setup({ resolver: flaky(2), retries: 2 });
  s.server.serve(UFFD_ID, 0, 0, page(0));
  assert.equal(calls, 3);
  assert.deepEqual(s.installer.ops(), ['copy@0+1'], 'the third call succeeded: installed, no failure');
  assert.deepEqual(s.reports, []);
  calls = 0;
  const t = setup({ resolver: flaky(10), retries: 2 });
  t.server.serve(UFFD_ID, 0, 0, page(0));
  assert.equal(calls, 3, 'the first call and two retries');
  assert.deepEqual(t.installer.ops(), ['poison@0+1']);
  assert.equal(t.reports[0].message, 'try 3');
  // An async rejection and an invalid answer are retried too.
  let n = 0;
  const u = setup({ resolver: { resolve: async (req, out) => (n++ === 0 ? Promise.reject(new Error('async')) : n === 2 ? 'bogus' : void out.fill(9)) }, retries: 2 });
  await u.server.serve(UFFD_ID, 0, 0, page(2));
  assert.equal(n, 3);
  assert.deepEqual(u.installer.ops(), ['copy@2+1']);
  assert.ok(u.installer.calls[0].bytes.every((b) => b === 9));
});

test('an async resolver past resolveTimeoutMs: the thread gets the policy, its late answer is dropped', async () => {
  let late;
  const s = setup({ resolver: { resolve: (req, out) => new Promise((resolve) => { late = () => { out.fill(7); resolve(); }; }) }, timeoutMs: 30, onError: 'zero' });
  const settled = s.server.serve(UFFD_ID, 0, 0, page(4));
  await settled;
  assert.deepEqual(s.installer.ops(), ['zero@4+1']);
  assert.deepEqual(s.reports.map((r) => [r.code, r.action]), [['ERR_FAULTLINE_RESOLVER_TIMEOUT', 'zeroed']]);
  late();
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(s.installer.ops(), ['zero@4+1'], 'nothing installed when the late answer came');
});
