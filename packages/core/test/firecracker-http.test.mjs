// `faultline firecracker --mem-url`: the same C client as firecracker.test.mjs
// (what Firecracker does on snapshot restore) served from an HTTP server on
// loopback instead of a memory file. The client checks every byte against the
// file the server's object equals.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, writePatternFile } from './helpers.mjs';
import { startRangeServer } from './fixtures/range-server.mjs';
import { buildFcClient, runCli, waitForOutput } from './fc-harness.mjs';

const MEM_SIZE = 4 << 20;
const SEED = 78;
let tmp;
let fcClient;
let memFile;
let server;

before(async () => {
  tmp = tempDir('faultline-fc-http-');
  fcClient = buildFcClient(tmp.dir);
  memFile = join(tmp.dir, 'mem.bin');
  writePatternFile(memFile, MEM_SIZE, SEED); // the bytes the HTTP object holds too
  server = await startRangeServer({ size: MEM_SIZE, seed: SEED });
});
after(async () => {
  await server?.close();
  tmp?.cleanup();
});

const runClient = (sock, mode, regions = 1, threads = 4) => fcClient(sock, memFile, mode, regions, threads);

test('CLI --mem-url: clients are served from the HTTP object byte for byte; a region past its end is refused', async () => {
  await server.configure({ latencyMs: 1 });
  await server.reset();
  const sock = join(tmp.dir, 'fc-http.sock');
  const url = `${server.url}?X-Amz-Signature=s3cr3t`;
  const run = runCli([
    'firecracker', '--socket', sock, '--mem-url', url, '--mem-header', 'Authorization: Bearer vm-token',
    '--http-chunk', String(128 << 10), '--workers', '2', '--readahead', '4',
  ]);
  await waitForOutput(run, 'listening on');
  const [one, two, bad] = await Promise.all([runClient(sock, 'good', 1, 4), runClient(sock, 'good', 2, 3), runClient(sock, 'out-of-file')]);
  for (const r of [one, two, bad]) assert.equal(r.code, 0, `${r.mode}: ${r.out} (signal ${r.signal})`);
  assert.match(one.out, /1 region\(s\), 4194304 bytes, 4 threads, every byte matched/);
  assert.match(two.out, /2 region\(s\), 4194304 bytes, 3 threads, every byte matched/);
  await waitForOutput(run, `(pid ${two.pid}) exited`);
  await waitForOutput(run, `(pid ${one.pid}) exited`);
  run.child.kill('SIGTERM');
  const { code, out } = await run.exited;
  assert.equal(code, 0, out);
  assert.equal(existsSync(sock), false);
  // The object's size was asked at startup: the handshake reaching past it was refused.
  assert.match(out, new RegExp(`\\(pid ${bad.pid}, uid \\d+\\) rejected: ERR_FAULTLINE_FC_OUT_OF_FILE`));
  assert.doesNotMatch(out, /s3cr3t/, 'the presigned signature stays out of the logs');
  assert.match(out, /serving http:\/\/127\.0\.0\.1:\d+\/snapshots\/mem\.bin\?…/);
  // Every request carried the header and asked for one whole 128 KiB chunk (or the startup probe's first byte).
  const seen = await server.requests();
  assert.equal(seen[0].range, 'bytes=0-0');
  for (const r of seen) assert.equal(r.headers.authorization, 'Bearer vm-token');
  for (const r of seen.slice(1)) {
    const [, a, b] = /^bytes=(\d+)-(\d+)$/.exec(r.range).map(Number);
    assert.equal(a % (128 << 10), 0, r.range);
    assert.equal(b - a + 1, 128 << 10, r.range);
  }
  // Two clients, two workers, each worker one cache per region: at most 2 x 2 fetches per chunk.
  assert.ok(seen.length - 1 <= 4 * (MEM_SIZE / (128 << 10)), `${seen.length} requests`);
});

test('CLI --mem-url: a URL the server refuses fails at startup with the HTTP code; bad usage exits 2', async () => {
  const missing = runCli(['firecracker', '--socket', join(tmp.dir, 'never.sock'), '--mem-url', server.url.replace('mem.bin', 'nope.bin')]);
  const { code, out } = await missing.exited;
  assert.equal(code, 1, out);
  assert.match(out, /ERR_FAULTLINE_HTTP_STATUS: GET bytes 0-0 of http:\/\/127\.0\.0\.1:\d+\/snapshots\/nope\.bin: the server answered 404/);
  assert.equal(existsSync(join(tmp.dir, 'never.sock')), false);
  for (const args of [
    ['--mem-file', memFile, '--mem-url', server.url],
    ['--mem-file', memFile, '--mem-header', 'A: b'],
    ['--mem-url', server.url, '--mem-header', 'no-colon'],
  ]) {
    const r = await runCli(['firecracker', '--socket', join(tmp.dir, 'x.sock'), ...args]).exited;
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.out}`);
    assert.match(r.out, /usage: faultline firecracker --socket PATH --mem-file PATH/);
  }
  const chunk = await runCli(['firecracker', '--socket', join(tmp.dir, 'x.sock'), '--mem-url', server.url, '--http-chunk', '5000']).exited;
  assert.equal(chunk.code, 1, chunk.out);
  assert.match(chunk.out, /ERR_FAULTLINE_INVALID_SIZE: httpRange chunk must be a positive multiple of the page size/);
});

test('CLI --mem-url with --record, then --prefetch: the trace (no page data) is prefetched over HTTP; every byte right', async (t) => {
  await server.configure({ latencyMs: 1 });
  const trace = join(tmp.dir, 'http-vm.trace');
  const PAGES = MEM_SIZE / 4096;
  const sock1 = join(tmp.dir, 'fc-http-rec.sock');
  const rec = runCli(['firecracker', '--socket', sock1, '--mem-url', server.url, '--record', trace]);
  t.after(() => rec.child.kill('SIGKILL'));
  await waitForOutput(rec, 'listening on');
  const first = await runClient(sock1, 'good', 1, 2);
  assert.equal(first.code, 0, first.out);
  await waitForOutput(rec, `recorded ${PAGES} first-touch pages to ${trace}`);
  rec.child.kill('SIGTERM');
  assert.equal((await rec.exited).code, 0);

  await server.reset();
  const sock2 = join(tmp.dir, 'fc-http-pre.sock');
  const pre = runCli(['firecracker', '--socket', sock2, '--mem-url', server.url, '--prefetch', trace]);
  t.after(() => pre.child.kill('SIGKILL'));
  await waitForOutput(pre, 'listening on');
  const second = await runClient(sock2, 'good', 1, 2);
  assert.equal(second.code, 0, second.out);
  assert.match(second.out, /every byte matched/);
  await waitForOutput(pre, 'came with demand faults)');
  const m = /prefetched (\d+) of (\d+) pages in [\d.]+ ms \((\d+) already present, (\d+) cancelled, (\d+) failed; \d+ of the installed came with demand faults\)/.exec(pre.output());
  assert.ok(m, pre.output());
  assert.equal(Number(m[2]), PAGES);
  assert.equal(Number(m[1]) + Number(m[3]) + Number(m[4]), PAGES);
  assert.equal(Number(m[5]), 0, 'nothing failed to come over HTTP');
  pre.child.kill('SIGTERM');
  assert.equal((await pre.exited).code, 0);
});
