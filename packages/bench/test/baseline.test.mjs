// The C baseline handler serves every fault with the content it claims: the
// toucher's checksum (XOR of each page's first 8 bytes) must equal the one
// computed here from the definition of that content.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { runBaseline, baselinePath } from '../dist/baseline.js';
import { patternChecksum, bytesChecksum } from '../dist/pattern.js';

const PAGE = 4096;
const SIZE = 4 << 20; // 1024 faults: enough to exercise the handler, fast on 2 cores

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

test('bad usage exits 2 and names the problem', async () => {
  const run = promisify(execFile);
  for (const [args, message] of [
    [['--size', '4096', '--bogus'], /unknown option '--bogus'/],
    [['--size', '1000'], /multiple of the page size, got '1000'/],
    [['--size', '1M', '--order', 'zigzag'], /--order must be sequential or random, got 'zigzag'/],
    [['--size', '1M', '--page-content', 'file'], /needs --file PATH/],
  ]) {
    await assert.rejects(run(baselinePath, args), (err) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr, message);
      return true;
    });
  }
});
