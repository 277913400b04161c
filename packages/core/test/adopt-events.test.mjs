// Serving another process's memory (FaultHandler.adopt) through the
// non-cooperative events: a C child (fixtures/uffd-events-child.c) sends us
// its uffd over a Unix socket, then forks, mremaps, madvises or munmaps its
// registered memory, or exits with faults in flight. The child checks every
// word it reads against the pattern resolver's content; we check the events.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FaultHandler, listenForUffds, resolvers, patternWord } from '../dist/index.js';
import { buildDir } from '@faultline/native/paths';
import { openFds, tempDir } from './helpers.mjs';

const SEED = 31337;
let tmp;
let child;
let handler;

before(async () => {
  tmp = tempDir();
  child = join(tmp.dir, 'uffd-events-child');
  const src = fileURLToPath(new URL('./fixtures/uffd-events-child.c', import.meta.url));
  const include = join(buildDir, '..', '..', 'src');
  execFileSync('cc', ['-O1', '-Wall', '-pthread', `-I${include}`, '-o', child, src]);
  handler = await FaultHandler.create({ workers: 2 });
});

after(async () => {
  await handler?.close();
  tmp?.cleanup();
});

/** Runs the child with `scenario`, adopting its uffd; resolves with its exit and our events. */
async function runScenario(scenario) {
  const socket = join(tmp.dir, `${scenario}.sock`);
  const events = [];
  let adopted;
  let adoptError;
  const adoptedReady = new Promise((resolve) => {
    const listener = listenForUffds(socket, {}, async (conn) => {
      try {
        const { address, size } = JSON.parse(conn.payload.toString('utf8'));
        conn.close();
        adopted = await handler.adopt(conn.uffd, { regions: [{ address, size, resolver: resolvers.pattern({ seed: SEED }) }] });
        adopted.on('event', (e) => events.push(e));
      } catch (err) {
        adoptError = err;
      } finally {
        listener.close();
        resolve();
      }
    });
  });
  const proc = spawn(child, [socket, scenario, String(SEED)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const exit = await new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  await adoptedReady;
  assert.equal(adoptError, undefined, `adopt failed: ${adoptError?.message}`);
  await handler.idle();
  // Event messages reach the main thread asynchronously; give them a moment.
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 5));
  return { exit, out, events, adopted };
}

test('fork: parent and child both fault and read the right data; the child uffd is served', async () => {
  const { exit, out, events, adopted } = await runScenario('fork');
  assert.deepEqual(exit, { code: 0, signal: null }, out);
  assert.match(out, /ok fork/);
  const fork = events.find((e) => e.kind === 'fork');
  assert.ok(fork, `no fork event in ${JSON.stringify(events)}`);
  assert.deepEqual([...adopted.features].sort(), ['fork', 'remap', 'remove', 'unmap']);
  assert.deepEqual(adopted.children, [fork.childUffdId]);
  const stats = adopted.stats()[0];
  assert.equal(stats.errors, 0);
  await adopted.close();
});

test('mremap: the region follows the move and faults keep being served at the new address', async () => {
  const { exit, out, events, adopted } = await runScenario('mremap');
  assert.deepEqual(exit, { code: 0, signal: null }, out);
  const remap = events.find((e) => e.kind === 'remap');
  assert.ok(remap, JSON.stringify(events));
  assert.equal(remap.length, 16 * 4096);
  await adopted.close();
});

test('remove (MADV_DONTNEED): the range reads zero afterwards, the rest keeps being served', async () => {
  const { exit, out, events, adopted } = await runScenario('remove');
  assert.deepEqual(exit, { code: 0, signal: null }, out);
  const remove = events.find((e) => e.kind === 'remove');
  assert.ok(remove, JSON.stringify(events));
  assert.equal(remove.end - remove.start, 2 * 4096);
  assert.ok(adopted.stats()[0].zeroFills >= 2);
  await adopted.close();
});

test('munmap: the region shrinks; the rest is served', async () => {
  const { exit, out, events, adopted } = await runScenario('munmap');
  assert.deepEqual(exit, { code: 0, signal: null }, out);
  const unmap = events.find((e) => e.kind === 'unmap');
  assert.ok(unmap, JSON.stringify(events));
  assert.equal(unmap.end - unmap.start, 8 * 4096);
  await adopted.close();
});

test('exit with faults in flight: nothing breaks, the handler keeps serving, fds are released', async () => {
  const before = openFds();
  const { exit, adopted } = await runScenario('exit');
  assert.equal(exit.code, 0);
  await adopted.close();
  assert.equal(openFds(), before, 'the adopted uffd and the socket are closed');
  const region = await handler.map({ size: 4 * 4096, resolver: resolvers.pattern({ seed: 5 }) });
  assert.equal(new Uint32Array(region.buffer)[1024 * 2 + 7], patternWord(5, 1024 * 2 + 7));
  await region.unmap();
});

test('adopt() checks the fd: not a uffd, no UFFDIO_API, events the caller did not list', async () => {
  const { openSync, closeSync } = await import('node:fs');
  const native = (await import('@faultline/native')).default;
  const region = [{ address: 0x100000, size: 4096, resolver: resolvers.zero() }];
  const devnull = openSync('/dev/null', 'r');
  await assert.rejects(handler.adopt(devnull, { regions: region }), { code: 'ERR_FAULTLINE_NOT_UFFD' });
  closeSync(devnull);
  const raw = native.uffdCreate();
  await assert.rejects(handler.adopt(raw, { regions: region }), { code: 'ERR_FAULTLINE_UFFD_NOT_READY', message: /UFFDIO_API/ });
  native.uffdApi(raw, native.constants.UFFD_FEATURE_EVENT_REMOVE | native.constants.UFFD_FEATURE_EVENT_FORK);
  await assert.rejects(handler.adopt(raw, { regions: region, events: ['remove'] }), {
    code: 'ERR_FAULTLINE_FEATURE_UNSUPPORTED',
    message: /events fork/,
  });
  native.closeFd(raw);
});

test('adopt() refuses bad input with coded errors', async () => {
  await assert.rejects(handler.adopt(-1, { regions: [] }), { code: 'ERR_FAULTLINE_INVALID_ARGUMENT' });
  await assert.rejects(handler.adopt(0, { regions: [] }), { code: 'ERR_FAULTLINE_INVALID_ARGUMENT', message: /regions/ });
  await assert.rejects(
    handler.adopt(0, { regions: [{ address: 4095, size: 4096, resolver: resolvers.zero() }] }),
    { code: 'ERR_FAULTLINE_INVALID_ARGUMENT', message: /page-aligned/ },
  );
});

test('an adopted uffd without UFFD_FEATURE_POISON: failures give zero pages (reported), explicit sigbus is refused', async () => {
  const native = (await import('@faultline/native')).default;
  const PAGE = native.pageSize();
  const fd = native.uffdCreate();
  native.uffdApi(fd, 0); // the peer negotiated nothing: no POISON
  const map = native.mapAnonymous(4 * PAGE);
  native.uffdRegister(fd, map.address, map.length, native.constants.UFFDIO_REGISTER_MODE_MISSING);
  const failing = resolvers.custom(new URL('./fixtures/failing-resolver.mjs', import.meta.url), { seed: SEED, failPages: [1] });
  await assert.rejects(handler.adopt(fd, { regions: [{ address: map.address, size: map.length, resolver: failing, onError: 'sigbus' }] }), {
    code: 'ERR_FAULTLINE_FEATURE_UNSUPPORTED',
    message: /UFFD_FEATURE_POISON.*onError: 'zero'/,
  });
  const errors = [];
  const onError = (e) => errors.push(e);
  handler.on('error', onError);
  const adopted = await handler.adopt(fd, { regions: [{ address: map.address, size: map.length, resolver: failing }] });
  try {
    const words = new Uint32Array(map.buffer);
    const w = PAGE / 4;
    assert.equal(words[5], patternWord(SEED, 5), 'page 0 served from the resolver');
    assert.equal(words[w + 5], 0, 'page 1 (the resolver throws) reads zero instead of re-faulting forever');
    assert.ok(new Uint8Array(map.buffer, PAGE, PAGE).every((b) => b === 0));
    assert.equal(words[2 * w + 9], patternWord(SEED, 2 * w + 9), 'later pages still served');
    await handler.idle();
    // The report is posted by the worker after the install: wait for it to arrive.
    for (let i = 0; i < 100 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(errors.length, 1);
    assert.equal(errors[0].action, 'zeroed');
    assert.match(errors[0].message, /given a zero page.*refusing page 1/);
  } finally {
    handler.off('error', onError);
    await adopted.close();
  }
});
