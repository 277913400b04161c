// The adopt scenarios end to end: a real child process hands its uffd over a
// Unix socket; the C handler process (blocking or busy) and Faultline
// (listenForUffds + adopt, serveFirecracker) each serve it, and what the
// child read is checked against the content's definition.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startAdoptChild, ADOPT_CHILD_PROGRAM } from '../dist/adopt/child.js';
import { startAdoptHandler } from '../dist/adopt/c-handler.js';
import { AdoptHost } from '../dist/adopt/host.js';
import { HandlerPool } from '../dist/faultline.js';
import { programPath } from '../dist/native-program.js';
import { bytesChecksum, patternChecksum } from '../dist/pattern.js';
import { allScenarios } from '../dist/scenarios/index.js';

const PAGE = 4096;
const SIZE = 4 << 20;
const SEED = 3;
const dir = mkdtempSync(join(tmpdir(), 'faultline-adopt-test-'));
const fileBytes = randomBytes(SIZE);
const file = join(dir, 'mem.bin');
writeFileSync(file, fileBytes);
const expected = { pattern: patternChecksum(SEED, SIZE, PAGE), file: bytesChecksum(fileBytes, SIZE, PAGE), zero: 0n };
const handlers = new HandlerPool();
const adopt = new AdoptHost(dir);
const ctx = { size: SIZE, pageSize: PAGE, seed: SEED, file, handlers, adopt, expectedChecksum: (c) => expected[c] };
let sockets = 0;

after(async () => {
  await adopt.close();
  await handlers.closeAll();
  rmSync(dir, { recursive: true, force: true });
});

const scenario = (name) => allScenarios().find((s) => s.name === name);

async function cPair(mode, handshake, content, order, threads) {
  const socket = join(dir, `pair-${++sockets}.sock`);
  const handler = startAdoptHandler({ socket, mode, content, seed: SEED, ...(content === 'file' ? { file } : {}) });
  const child = startAdoptChild({ socket, size: SIZE, order, threads, seed: SEED, handshake, go: 'socket' });
  const [r, h] = await Promise.all([child.result, handler.result]);
  await Promise.all([child.program.exited, handler.program.exited]);
  return { r, h };
}

for (const mode of ['blocking', 'busy']) {
  for (const [order, threads] of [['sequential', 1], ['random', 2]]) {
    test(`C ${mode} handler process serves the child's uffd (${order}, ${threads} thread(s)): every page once, right content`, async () => {
      const { r, h } = await cPair(mode, 'faultline', 'pattern', order, threads);
      assert.equal(r.pages, SIZE / PAGE);
      assert.equal(h.faults, SIZE / PAGE);
      assert.equal(r.checksum, expected.pattern);
      assert.ok(r.elapsedNs > 0 && r.p99Ns >= r.p50Ns && r.cpuNs > 0 && h.cpuNs > 0, JSON.stringify({ ...r, checksum: undefined, h }));
    });
  }
}

test('C handler process, Firecracker handshake: the memory file\'s bytes at the region\'s offset', async () => {
  const { r, h } = await cPair('blocking', 'firecracker', 'file', 'random', 2);
  assert.equal(h.faults, SIZE / PAGE);
  assert.equal(r.checksum, expected.file);
});

test('Faultline (listenForUffds + adopt) serves the child: the scenario\'s rounds check content and count both processes\' CPU', async () => {
  const s = scenario('adopt-rand-2t-pattern');
  for (const run of [s.faultline, s.references.baseline, s.references.limit]) {
    const sample = await run(ctx); // throws ERR_FAULTLINE_BENCH_CONTENT on a wrong checksum
    assert.equal(sample.pages, SIZE / PAGE);
    assert.equal(sample.faults, SIZE / PAGE);
    assert.ok(sample.cpuNs > 0 && sample.elapsedNs > 0 && sample.rssDeltaKb === null);
  }
  // Twice through the same listener and handler: rounds reuse them.
  assert.equal((await s.faultline(ctx)).pages, SIZE / PAGE);
});

test('Faultline (serveFirecracker) serves a Firecracker-style child from the memory file', async () => {
  const s = scenario('adopt-fc-seq-1t-file');
  for (let i = 0; i < 2; i++) {
    const sample = await s.faultline(ctx);
    assert.equal(sample.pages, SIZE / PAGE);
    assert.ok(sample.faults >= 1 && sample.faults <= SIZE / PAGE, `faults ${sample.faults}`);
  }
  assert.equal((await s.references.baseline(ctx)).pages, SIZE / PAGE);
});

test('a wrong checksum fails the round on either side (the content check is real)', async () => {
  const s = scenario('adopt-seq-1t-pattern');
  const wrong = { ...ctx, expectedChecksum: (c) => expected[c] ^ 1n };
  await assert.rejects(s.references.baseline(wrong), (err) => err.code === 'ERR_FAULTLINE_BENCH_CONTENT' && /C blocking handler process/.test(err.message));
  await assert.rejects(s.faultline(wrong), (err) => err.code === 'ERR_FAULTLINE_BENCH_CONTENT' && /Faultline handler \(adopt\)/.test(err.message));
});

test('the child refuses bad usage with exit 2, naming the problem', async () => {
  const run = promisify(execFile);
  const child = programPath(ADOPT_CHILD_PROGRAM);
  for (const [args, message] of [
    [['--size', '1M'], /--socket PATH is required/],
    [['--socket', '/tmp/x', '--size', '1M', '--go', 'pigeon'], /--go must be socket or stdin, got 'pigeon'/],
    [['--socket', '/tmp/x', '--size', '1M', '--handshake', 'qemu'], /--handshake must be faultline or firecracker, got 'qemu'/],
    [['--socket', '/tmp/x', '--size', '1001'], /multiple of the page size/],
  ]) {
    await assert.rejects(run(child, args), (err) => err.code === 2 && message.test(err.stderr));
  }
});
