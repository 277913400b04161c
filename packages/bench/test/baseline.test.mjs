// The C reference handlers (blocking baseline, busy-polling limit, readahead)
// serve every fault with the content they claim: the toucher's checksum (XOR
// of each page's first 8 bytes) must equal the one computed here from the
// definition of that content, and the fault counts must match the mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { runBaseline, BASELINE_PROGRAM } from '../dist/baseline.js';
import { programPath } from '../dist/native-program.js';
import { patternChecksum, bytesChecksum } from '../dist/pattern.js';

const PAGE = 4096;
const SIZE = 4 << 20; // 1024 faults: enough to exercise the handler, fast on 2 cores
const baselinePath = programPath(BASELINE_PROGRAM);

for (const order of ['sequential', 'random']) {
  for (const threads of [1, 2]) {
    test(`pattern pages, ${order}, ${threads} toucher thread(s): every page served once with its pattern`, async () => {
      const r = await runBaseline({ size: SIZE, order, threads, seed: 7, content: 'pattern' });
      assert.equal(r.pages, SIZE / PAGE);
      assert.equal(r.faults, SIZE / PAGE);
      assert.equal(r.checksum, patternChecksum(7, SIZE, PAGE));
      assert.ok(r.elapsedNs > 0 && r.p99Ns >= r.p50Ns);
    });
  }
}

test('a different seed gives different content (the checksum really depends on the pages)', async () => {
  const a = await runBaseline({ size: SIZE, order: 'sequential', threads: 1, seed: 1, content: 'pattern' });
  const b = await runBaseline({ size: SIZE, order: 'sequential', threads: 1, seed: 2, content: 'pattern' });
  assert.equal(a.checksum, patternChecksum(1, SIZE, PAGE));
  assert.equal(b.checksum, patternChecksum(2, SIZE, PAGE));
  assert.notEqual(a.checksum, b.checksum);
});

test('write faults are served and leave the content unchanged', async () => {
  const r = await runBaseline({ size: SIZE, order: 'random', threads: 2, seed: 3, content: 'pattern', write: true });
  assert.equal(r.faults, SIZE / PAGE);
  assert.equal(r.checksum, patternChecksum(3, SIZE, PAGE));
});

test('zero pages: one UFFDIO_ZEROPAGE per fault, all zero', async () => {
  const r = await runBaseline({ size: SIZE, order: 'random', threads: 1, seed: 1, content: 'zero' });
  assert.equal(r.faults, SIZE / PAGE);
  assert.equal(r.checksum, 0n);
});

test('file pages: pread per fault, zeros past the end of the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'faultline-baseline-'));
  try {
    const bytes = randomBytes(SIZE / 2 + 100); // the second half of the region lies past EOF
    const file = join(dir, 'data.bin');
    writeFileSync(file, bytes);
    const r = await runBaseline({ size: SIZE, order: 'sequential', threads: 2, seed: 1, content: 'file', file });
    assert.equal(r.faults, SIZE / PAGE);
    assert.equal(r.checksum, bytesChecksum(bytes, SIZE, PAGE));
    assert.notEqual(r.checksum, 0n);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const threads of [1, 2]) {
  test(`the limit (--handler busy), random, ${threads} thread(s): one fault per page, the right content, sane numbers`, async () => {
    const r = await runBaseline({ size: SIZE, order: 'random', threads, seed: 5, content: 'pattern', handler: 'busy' });
    assert.equal(r.pages, SIZE / PAGE);
    assert.equal(r.faults, SIZE / PAGE);
    assert.equal(r.checksum, patternChecksum(5, SIZE, PAGE));
    assert.ok(r.elapsedNs > 0 && r.p50Ns > 0 && r.p99Ns >= r.p50Ns, `elapsed ${r.elapsedNs}, p50 ${r.p50Ns}, p99 ${r.p99Ns}`);
    assert.equal(r.mode, 'busy');
    assert.ok(r.cpuNs > 0);
  });
}

test('the limit serves zero and file pages too', async () => {
  const zero = await runBaseline({ size: SIZE, order: 'sequential', threads: 1, seed: 1, content: 'zero', handler: 'busy' });
  assert.equal(zero.checksum, 0n);
  assert.equal(zero.faults, SIZE / PAGE);
  const dir = mkdtempSync(join(tmpdir(), 'faultline-limit-'));
  try {
    const bytes = randomBytes(SIZE);
    const file = join(dir, 'data.bin');
    writeFileSync(file, bytes);
    const r = await runBaseline({ size: SIZE, order: 'random', threads: 2, seed: 1, content: 'file', file, handler: 'busy' });
    assert.equal(r.checksum, bytesChecksum(bytes, SIZE, PAGE));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const readahead of [16, 64]) {
  test(`readahead ${readahead}, sequential: one fault per ${readahead} pages, each page right`, async () => {
    const r = await runBaseline({ size: SIZE, order: 'sequential', threads: 1, seed: 9, content: 'pattern', readahead });
    assert.equal(r.pages, SIZE / PAGE);
    assert.equal(r.faults, SIZE / PAGE / readahead);
    assert.equal(r.readahead, readahead);
    assert.equal(r.mode, 'blocking');
    assert.equal(r.checksum, patternChecksum(9, SIZE, PAGE));
  });
}

test('readahead is clipped at the region end (a size that is not a multiple of it)', async () => {
  const size = SIZE + 3 * PAGE; // 1027 pages: 16 runs of 64, then a run of 3
  const r = await runBaseline({ size, order: 'sequential', threads: 1, seed: 4, content: 'pattern', readahead: 64 });
  assert.equal(r.faults, 17);
  assert.equal(r.checksum, patternChecksum(4, size, PAGE));
});

test('readahead with random faults from 2 threads: runs stop at present pages, nothing is served twice wrong', async () => {
  const r = await runBaseline({ size: SIZE, order: 'random', threads: 2, seed: 2, content: 'pattern', readahead: 16, handler: 'busy' });
  assert.equal(r.checksum, patternChecksum(2, SIZE, PAGE));
  assert.ok(r.faults < SIZE / PAGE, `readahead saved faults: ${r.faults}`);
});

test('bad usage exits 2 and names the problem', async () => {
  const run = promisify(execFile);
  for (const [args, message] of [
    [['--size', '4096', '--bogus'], /unknown option '--bogus'/],
    [['--size', '1000'], /multiple of the page size, got '1000'/],
    [['--size', '1M', '--order', 'zigzag'], /--order must be sequential or random, got 'zigzag'/],
    [['--size', '1M', '--page-content', 'file'], /needs --file PATH/],
    [['--size', '1M', '--handler', 'spin'], /--handler must be blocking or busy, got 'spin'/],
    [['--size', '1M', '--readahead', '0'], /--readahead must be 1\.\.4096 pages, got '0'/],
    [['--size', '1M', '--readahead'], /missing value after '--readahead'/],
  ]) {
    await assert.rejects(run(baselinePath, args), (err) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr, message);
      return true;
    });
  }
});
