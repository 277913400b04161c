// Firecracker page-fault handler end to end: fc-client (a C program doing what
// Firecracker does on snapshot restore) against serveFirecracker and the CLI.
// The client checks every byte against the memory file, write faults, and
// zero pages after MADV_DONTNEED (UFFD_EVENT_REMOVE); bad peers must be
// rejected with a log line while good clients are served concurrently.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { serveFirecracker } from '../dist/firecracker/server.js';
import { readTrace, resolvers } from '../dist/index.js';
import { reserveHugePages, tempDir, writePatternFile } from './helpers.mjs';
import { buildFcClient, runCli, startCli, waitForOutput } from './fc-harness.mjs';

const MEM_SIZE = 4 << 20;
const SEED = 77;
let tmp;
let fcClient;
let memFile;
let n = 0;

before(() => {
  tmp = tempDir('faultline-fc-');
  fcClient = buildFcClient(tmp.dir);
  memFile = join(tmp.dir, 'mem.bin');
  writePatternFile(memFile, MEM_SIZE, SEED);
});
after(() => tmp.cleanup());

const socketPath = () => join(tmp.dir, `fc${++n}.sock`);

/** Runs fc-client on `sock` (its memory file: `file`). */
const runClient = (sock, mode, regions = 1, threads = 4, file = memFile) => fcClient(sock, file, mode, regions, threads);

const uffdFds = () =>
  readdirSync('/proc/self/fd').filter((f) => {
    try {
      return readlinkSync(`/proc/self/fd/${f}`) === 'anon_inode:[userfaultfd]';
    } catch {
      return false;
    }
  }).length;

/** Resolves when `pred(value)` holds for an emitted event. */
const waitFor = (emitter, event, pred = () => true) =>
  new Promise((resolve) => {
    const on = (v) => {
      if (pred(v)) {
        emitter.off(event, on);
        resolve(v);
      }
    };
    emitter.on(event, on);
  });

test('good clients (one and two regions, legacy page_size_kib) are served while every bad peer is rejected', async () => {
  const lines = [];
  const sock = socketPath();
  const server = await serveFirecracker({ socketPath: sock, memFile, workers: 2, readahead: 4, log: (l) => lines.push(l) });
  const baseUffds = uffdFds();
  assert.equal(statSync(sock).mode & 0o777, 0o600);
  const rejected = [];
  server.on('rejected', (r) => rejected.push(r));
  const exits = [];
  server.on('exit', (c) => exits.push(c.pid));

  const bad = ['bad-json', 'bad-shape', 'no-fd', 'pipe-fd', 'out-of-file', 'oversized', 'disconnect'];
  const results = await Promise.all([
    runClient(sock, 'good', 1, 4),
    runClient(sock, 'good', 2, 3),
    ...bad.map((mode) => runClient(sock, mode)),
    runClient(sock, 'good-legacy', 2, 2),
  ]);
  for (const r of results) assert.equal(r.code, 0, `${r.mode}: ${r.out} (signal ${r.signal})`);
  const good = results.filter((r) => r.mode.startsWith('good'));
  for (const r of good) assert.match(r.out, /every byte matched/);
  for (const r of good) assert.match(r.out, /read back zero/);

  // Each bad peer got its own code and log line.
  await waitForCount(() => rejected.length, bad.length);
  const byPid = new Map(rejected.map((r) => [r.pid, r.code]));
  const codeOf = (mode) => byPid.get(results.find((r) => r.mode === mode).pid);
  assert.equal(codeOf('bad-json'), 'ERR_FAULTLINE_FC_BAD_JSON');
  assert.equal(codeOf('bad-shape'), 'ERR_FAULTLINE_FC_BAD_SHAPE');
  assert.equal(codeOf('no-fd'), 'ERR_FAULTLINE_FC_NO_FD');
  assert.equal(codeOf('pipe-fd'), 'ERR_FAULTLINE_FC_NOT_UFFD');
  assert.equal(codeOf('out-of-file'), 'ERR_FAULTLINE_FC_OUT_OF_FILE');
  assert.equal(codeOf('oversized'), 'ERR_FAULTLINE_FC_TOO_LARGE');
  assert.equal(codeOf('disconnect'), 'ERR_FAULTLINE_SOCKET_DISCONNECTED');
  for (const r of rejected) {
    assert.ok(lines.some((l) => l.startsWith(`client ${r.connection} (pid ${r.pid}`) && l.includes(`rejected: ${r.code}`)), r.code);
  }

  // The good clients exited: their uffds are closed, none of the bad peers' fds stayed open.
  await waitForCount(() => exits.length, good.length);
  assert.deepEqual(exits.sort(), good.map((r) => r.pid).sort());
  assert.equal(uffdFds(), baseUffds);
  for (const r of good) assert.ok(lines.some((l) => l.includes(`(pid ${r.pid}) exited:`) && / \d+ faults/.test(l)));
  assert.ok(lines.some((l) => /\(16 zero-filled\)/.test(l)), lines.join('\n'));

  await server.close();
  assert.equal(existsSync(sock), false);
});

test('a hugepage-backed VM (page_size 2 MiB, hugetlb guest memory) is served a huge page per fault', async () => {
  const HUGE = 2 << 20;
  const hugeFile = join(tmp.dir, 'mem-huge.bin');
  writePatternFile(hugeFile, 8 * HUGE, SEED + 1);
  // Two clients of 8 huge pages each at once (the handler's own memory is not hugetlb).
  const release = reserveHugePages(16);
  const lines = [];
  const sock = socketPath();
  const server = await serveFirecracker({ socketPath: sock, memFile: hugeFile, workers: 2, log: (l) => lines.push(l) });
  try {
    const exits = [];
    server.on('exit', (c) => exits.push(c));
    const results = await Promise.all([runClient(sock, 'good-huge', 1, 4, hugeFile), runClient(sock, 'good-huge', 2, 2, hugeFile)]);
    for (const r of results) {
      assert.equal(r.code, 0, `${r.mode}: ${r.out} (signal ${r.signal})`);
      assert.match(r.out, /every byte matched/);
      assert.match(r.out, /read back zero/); // MADV_DONTNEED on hugetlb: REMOVE event, then zero huge pages
    }
    await waitForCount(() => exits.length, 2);
    // Every install was a whole huge page, each exactly once: the 8 huge pages of the file, then the
    // discarded ones (2 of the 1-region client, 1 of the 2-region one) zero-filled when read again.
    const exited = lines.map((l) => / exited: \d+ faults, (\d+) pages installed \((\d+) zero-filled\)/.exec(l)).filter(Boolean);
    assert.equal(exited.length, 2, lines.join('\n'));
    const counts = exited.map((m) => [Number(m[1]), Number(m[2])]).sort((a, b) => a[1] - b[1]);
    assert.deepEqual(counts, [[9, 1], [10, 2]], lines.join('\n'));
  } finally {
    await server.close();
    release();
  }
});

async function waitForCount(get, want, ms = 5000) {
  const t0 = Date.now();
  while (get() < want) {
    if (Date.now() - t0 > ms) assert.fail(`waited ${ms} ms for ${want}, have ${get()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a pluggable resolver serves at offset + (address - base); a silent peer times out; uid filter', async () => {
  const lines = [];
  const sock = socketPath();
  // The memory file holds pattern(SEED) bytes, so the pattern resolver must produce exactly the file.
  const server = await serveFirecracker({
    socketPath: sock,
    resolver: resolvers.pattern({ seed: SEED }),
    memorySize: MEM_SIZE,
    handshakeTimeoutMs: 300,
    log: (l) => lines.push(l),
  });
  const timedOut = waitFor(server, 'rejected', (r) => r.code === 'ERR_FAULTLINE_SOCKET_TIMEOUT');
  const [ok, silent] = await Promise.all([runClient(sock, 'good', 2, 2), runClient(sock, 'silent')]);
  assert.equal(ok.code, 0, ok.out);
  assert.equal(silent.code, 0, silent.out);
  assert.equal((await timedOut).pid, silent.pid);
  await server.close();

  const strict = await serveFirecracker({ socketPath: socketPath(), memFile, allowUids: [process.getuid() + 4242], log: false });
  const denied = waitFor(strict, 'rejected');
  const peer = await runClient(strict.socketPath, 'pipe-fd');
  assert.equal(peer.code, 0, peer.out);
  const r = await denied;
  assert.equal(r.code, 'ERR_FAULTLINE_SOCKET_PEER_REJECTED');
  assert.match(r.message, /--allow-uid/);
  await strict.close();
});

test('CLI: bad usage exits 2 with the usage text', async () => {
  for (const args of [
    ['firecracker', '--socket', '/tmp/x.sock', '--mem-file', memFile, '--bogus'],
    ['firecracker', '--socket', '/tmp/x.sock'],
    ['firecracker', '--socket', '/tmp/x.sock', '--mem-file', memFile, '--workers', 'two'],
    ['launch'],
  ]) {
    const { code, out } = await runCli(args).exited;
    assert.equal(code, 2, `${args.join(' ')}: ${out}`);
    assert.match(out, /usage: faultline firecracker --socket PATH --mem-file PATH/);
  }
});

test('CLI: serves a client, then SIGTERM closes cleanly and removes the socket', async () => {
  const sock = socketPath();
  const run = runCli(['firecracker', '--socket', sock, '--mem-file', memFile, '--workers', '2', '--readahead', '8']);
  const t0 = Date.now();
  while (!run.output().includes('listening on')) {
    if (Date.now() - t0 > 10000) assert.fail(`CLI did not start: ${run.output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(statSync(sock).mode & 0o777, 0o600);
  const [good, bad] = await Promise.all([runClient(sock, 'good', 2, 4), runClient(sock, 'bad-json')]);
  assert.equal(good.code, 0, good.out);
  assert.equal(bad.code, 0, bad.out);
  while (!run.output().includes(`(pid ${good.pid}) exited`)) {
    if (Date.now() - t0 > 15000) assert.fail(`no exit line: ${run.output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  run.child.kill('SIGTERM');
  const { code, signal, out } = await run.exited;
  assert.equal(signal, null, out);
  assert.equal(code, 0, out);
  assert.equal(existsSync(sock), false);
  assert.match(out, /client \d+ \(pid \d+, uid \d+\): serving 2 region\(s\), 4\.0 MiB/);
  assert.match(out, /rejected: ERR_FAULTLINE_FC_BAD_JSON/);
  assert.match(out, /closed /);
});

test('CLI: --record writes the VM\'s working set with its pages; --prefetch installs it on the next restore', async (t) => {
  const trace = join(tmp.dir, 'vm.trace');
  const PAGES = MEM_SIZE / 4096;
  // First restore: recorded. fc-client reads every page, so the working set is the whole memory
  // (minus nothing: the pages it discards and reads again are not first touches).
  const sock1 = socketPath();
  const rec = await startCli(['firecracker', '--socket', sock1, '--mem-file', memFile, '--record', trace]);
  t.after(() => rec.child.kill('SIGKILL')); // a failed assertion must not leave the server running
  const first = await runClient(sock1, 'good', 2, 4);
  assert.equal(first.code, 0, first.out);
  const [, recorded] = await waitForOutput(rec, /recorded (\d+) first-touch pages to /);
  assert.equal(Number(recorded), PAGES);
  rec.child.kill('SIGTERM');
  assert.equal((await rec.exited).code, 0);
  const { regions } = await readTrace(trace);
  assert.equal(regions.length, 2);
  assert.equal(regions[0].pages.length + regions[1].pages.length, PAGES);
  assert.ok(regions.every((r) => r.data !== undefined), 'the trace holds the pages');

  // Second restore: prefetched from the trace; the client checks every byte, as always.
  const sock2 = socketPath();
  const pre = await startCli(['firecracker', '--socket', sock2, '--mem-file', memFile, '--prefetch', trace]);
  t.after(() => pre.child.kill('SIGKILL'));
  const second = await runClient(sock2, 'good', 2, 4);
  assert.equal(second.code, 0, second.out);
  assert.match(second.out, /every byte matched/);
  const [, installed, pages, present, cancelled, failed] = await waitForOutput(
    pre,
    /prefetched (\d+) of (\d+) pages in [\d.]+ ms \((\d+) already present, (\d+) cancelled, (\d+) failed; \d+ of the installed came with demand faults\)/,
  );
  assert.equal(Number(pages), PAGES);
  assert.equal(Number(installed) + Number(present) + Number(cancelled), PAGES);
  assert.equal(Number(failed), 0);
  pre.child.kill('SIGTERM');
  assert.equal((await pre.exited).code, 0);

  // Misuse is a usage error.
  const both = await runCli(['firecracker', '--socket', socketPath(), '--mem-file', memFile, '--record', trace, '--prefetch', trace]).exited;
  assert.equal(both.code, 2, both.out);
  const junk = await runCli(['firecracker', '--socket', socketPath(), '--mem-file', memFile, '--prefetch', memFile]).exited;
  assert.equal(junk.code, 2, junk.out);
  assert.match(junk.out, /not a usable trace file/);
});
