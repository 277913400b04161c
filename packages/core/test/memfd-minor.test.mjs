// Shared memory regions (map backing 'memfd' | 'shmem') and minor faults
// (map minor, resolvers.pageCache(), adopted ranges registered MINOR): the
// bytes read through the region, the same bytes through a second mapping of
// the memfd (one page cache), and the counts (pages installed, continued,
// zero-filled), on the native fast path and in JS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import native from '@faultline/native';
import { buildDir } from '@faultline/native/paths';
import { FaultHandler, FaultlineError, listenForUffds, resolvers, patternWord } from '../dist/index.js';
import { openFds, permutation, tempDir } from './helpers.mjs';

const PAGE = 4096;
const WORDS = PAGE / 4;
const SEED = 4242;

/** The first word of every page of `buffer` (the resolvers under test fill whole pages: one word says which content). */
function firstWords(buffer, pages) {
  const words = new Uint32Array(buffer);
  return Array.from({ length: pages }, (_, p) => words[p * WORDS]);
}

function expectPattern(buffer, pages, what) {
  const words = new Uint32Array(buffer);
  for (let p = 0; p < pages; p++) {
    for (let i = p * WORDS; i < (p + 1) * WORDS; i += 97) {
      assert.equal(words[i], patternWord(SEED, i), `${what}: page ${p} word ${i}`);
    }
  }
}

for (const nativeResolvers of [true, false]) {
  const where = nativeResolvers ? 'native path' : 'JS';

  for (const backing of ['memfd', 'shmem']) {
    test(`backing '${backing}': missing faults are served by UFFDIO_COPY into the page cache, readahead 4 (${where})`, async () => {
      const handler = await FaultHandler.create({ workers: 2, nativeResolvers });
      try {
        const pages = 256;
        const region = await handler.map({ size: pages * PAGE, resolver: resolvers.pattern({ seed: SEED }), backing, readahead: 4 });
        assert.equal(region.memfd >= 0, backing === 'memfd');
        // Random order: some faults land inside a run another fault installed (no second install).
        const words = new Uint32Array(region.buffer);
        for (const p of permutation(pages, 5)) assert.equal(words[p * WORDS + 1], patternWord(SEED, p * WORDS + 1));
        expectPattern(region.buffer, pages, 'region');
        assert.ok(await handler.idle());
        const s = region.stats();
        assert.equal(s.pagesInstalled, pages);
        assert.equal(s.errors + s.poisoned + s.continued + s.moved, 0);
        if (backing === 'memfd') {
          // The same page cache through a second, unregistered mapping: same bytes, writes seen both ways.
          const other = native.mapFd(region.memfd, region.size, 0);
          expectPattern(other.buffer, pages, 'second mapping');
          new Uint32Array(other.buffer)[10 * WORDS + 5] = 0xabcd1234;
          assert.equal(words[10 * WORDS + 5], 0xabcd1234);
          words[20 * WORDS + 6] = 0x600df00d;
          assert.equal(new Uint32Array(other.buffer)[20 * WORDS + 6], 0x600df00d);
        }
        await region.unmap();
      } finally {
        await handler.close();
      }
    });
  }

  test(`minor: pages the page cache holds are mapped by CONTINUE, the others get resolvers.pageCache()'s zero page (${where})`, async () => {
    const handler = await FaultHandler.create({ workers: 2, nativeResolvers });
    try {
      const pages = 64;
      const region = await handler.map({ size: pages * PAGE, resolver: resolvers.pageCache(), backing: 'memfd', minor: true });
      // Someone else fills the even pages (here: this test, through its own mapping of the memfd).
      const cache = new Uint32Array(native.mapFd(region.memfd, region.size, 0).buffer);
      for (let p = 0; p < pages; p += 2) cache[p * WORDS] = 1000 + p;
      const expected = Array.from({ length: pages }, (_, p) => (p % 2 === 0 ? 1000 + p : 0));
      assert.deepEqual(firstWords(region.buffer, pages), expected);
      assert.ok(await handler.idle());
      const s = region.stats();
      assert.equal(s.faults, pages);
      assert.equal(s.continued, pages / 2, 'one CONTINUE per page the page cache held');
      assert.equal(s.zeroFills, pages / 2, 'one zero page per page it did not');
      assert.equal(s.pagesInstalled, pages);
      assert.equal(s.errors, 0);
      // Mapped pages are the page cache's: a later write through the other mapping shows, without a fault.
      cache[7 * WORDS + 9] = 77;
      cache[8 * WORDS + 9] = 88;
      const words = new Uint32Array(region.buffer);
      assert.equal(words[7 * WORDS + 9], 77);
      assert.equal(words[8 * WORDS + 9], 88);
      assert.equal(region.stats().faults, pages);
      await region.unmap();
    } finally {
      await handler.close();
    }
  });

  test(`minor: the page cache filled while the region is read, from another thread: every byte the writer's (${where})`, async () => {
    const handler = await FaultHandler.create({ workers: 2, nativeResolvers });
    try {
      const pages = 512;
      const region = await handler.map({ size: pages * PAGE, resolver: resolvers.pageCache(), backing: 'memfd', minor: true });
      const cache = native.mapFd(region.memfd, region.size, 0);
      // The writer fills every page through its mapping while this thread reads them in another order.
      const writer = new Worker(
        `const { parentPort, workerData: { buffer, pages, words } } = require('node:worker_threads');
         const w = new Uint32Array(buffer);
         for (let p = 0; p < pages; p++) for (let i = 0; i < words; i++) w[p * words + i] = (p << 12) | i;
         parentPort.postMessage('done');`,
        { eval: true, workerData: { buffer: cache.buffer, pages, words: WORDS } },
      );
      const done = new Promise((resolve, reject) => {
        writer.once('message', resolve);
        writer.once('error', reject);
      });
      const words = new Uint32Array(region.buffer);
      for (const p of permutation(pages, 9)) void words[p * WORDS];
      await done;
      await writer.terminate();
      // Whatever raced (a page zero-filled before the writer got there lives in the same page cache
      // the writer then wrote), the region now reads the writer's bytes everywhere.
      for (let p = 0; p < pages; p++) {
        for (let i = 0; i < WORDS; i += 61) assert.equal(words[p * WORDS + i], (p << 12) | i, `page ${p} word ${i}`);
      }
      assert.ok(await handler.idle());
      const s = region.stats();
      assert.equal(s.continued + s.zeroFills, s.pagesInstalled);
      assert.equal(s.pagesInstalled, pages, 'each page installed once (CONTINUE or zero page)');
      assert.equal(s.errors, 0);
      await region.unmap();
    } finally {
      await handler.close();
    }
  });
}

test("pageCache({ missing: 'poison' }): a page in no page cache is poisoned (SIGBUS), a filled one is mapped", () => {
  // In a child: the poisoned page kills the thread that touches it.
  const script = `
    import native from '@faultline/native';
    import { FaultHandler, resolvers } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
    const handler = await FaultHandler.create({ workers: 1 });
    const region = await handler.map({ size: 4 * 4096, resolver: resolvers.pageCache({ missing: 'poison' }), backing: 'memfd', minor: true });
    new Uint32Array(native.mapFd(region.memfd, region.size, 0).buffer)[0] = 5;
    console.log('page0', new Uint32Array(region.buffer)[0]);
    await handler.idle();
    const s = region.stats();
    console.log('continued', s.continued, 'poisoned', s.poisoned);
    console.log('page2', new Uint32Array(region.buffer)[2 * 1024]);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: fileURLToPath(new URL('.', import.meta.url)), encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.signal, 'SIGBUS', `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.match(r.stdout, /page0 5\ncontinued 1 poisoned 0\n/);
  assert.doesNotMatch(r.stdout, /page2/);
});

test('a custom resolver fills the page cache through its own mapping of info.memfd and answers continue (readahead 8)', async () => {
  const handler = await FaultHandler.create({ workers: 2 });
  try {
    const pages = 128;
    const region = await handler.map({
      size: pages * PAGE,
      resolver: resolvers.custom(new URL('./fixtures/page-cache-fill-resolver.mjs', import.meta.url), { seed: SEED }),
      backing: 'memfd',
      minor: true,
      readahead: 8,
    });
    // Page 3 is someone else's already: the resolver sees a minor fault and maps it as it is.
    const cache = new Uint32Array(native.mapFd(region.memfd, region.size, 0).buffer);
    cache[3 * WORDS] = 0x33;
    const words = new Uint32Array(region.buffer);
    assert.equal(words[3 * WORDS], 0x33);
    assert.equal(words[3 * WORDS + 1], 0);
    // The rest: missing faults (readahead 8: the resolver writes 8 pages, CONTINUE maps them), and
    // minor faults for pages a readahead run put in the page cache but CONTINUE stopped short of
    // (it stops at page 3, already mapped).
    for (let p = 0; p < pages; p++) {
      if (p === 3) continue;
      for (let i = p * WORDS; i < (p + 1) * WORDS; i += 129) assert.equal(words[i], patternWord(SEED, i), `page ${p} word ${i}`);
    }
    assert.ok(await handler.idle());
    const s = region.stats();
    assert.equal(s.continued, pages, 'every page mapped by CONTINUE, none copied');
    assert.equal(s.pagesInstalled, pages);
    assert.equal(s.zeroFills + s.errors, 0);
    await region.unmap();
  } finally {
    await handler.close();
  }
});

test('trackWrites works on shared memory (memfd): the dirty set is the pages written', async () => {
  const handler = await FaultHandler.create({ workers: 2 });
  try {
    const region = await handler.map({ size: 64 * PAGE, resolver: resolvers.pattern({ seed: SEED }), backing: 'memfd', trackWrites: true });
    expectPattern(region.buffer, 64, 'region');
    const words = new Uint32Array(region.buffer);
    words[3 * WORDS + 5] = 1;
    words[40 * WORDS] = 2;
    assert.deepEqual(region.dirtyPages(), Uint32Array.from([3, 40]));
    await region.unmap();
  } finally {
    await handler.close();
  }
});

test('the memfd is closed at unmap() and at close(): no fd left behind', async () => {
  const before = openFds();
  const handler = await FaultHandler.create({ workers: 1 });
  const a = await handler.map({ size: 8 * PAGE, resolver: resolvers.zero(), backing: 'memfd' });
  const b = await handler.map({ size: 8 * PAGE, resolver: resolvers.zero(), backing: 'memfd', minor: true });
  const link = (fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return null; // closed
    }
  };
  assert.match(link(a.memfd), /memfd:faultline:region-/);
  await a.unmap();
  assert.equal(link(a.memfd)?.includes('memfd:faultline:') ?? false, false, 'closed at unmap()');
  await handler.close();
  assert.equal(link(b.memfd)?.includes('memfd:faultline:') ?? false, false, 'closed at close()');
  assert.equal(openFds(), before);
});

test('bad combinations are refused at map() with the fix', async () => {
  const handler = await FaultHandler.create({ workers: 1 });
  try {
    const refuse = (options, pattern) =>
      assert.rejects(handler.map({ size: 4 * PAGE, resolver: resolvers.zero(), ...options }), (err) => {
        assert.ok(err instanceof FaultlineError);
        assert.equal(err.code, 'ERR_FAULTLINE_INVALID_ARGUMENT');
        assert.match(err.message, pattern);
        return true;
      });
    await refuse({ minor: true }, /minor: true needs backing: 'memfd'/);
    await refuse({ minor: true, backing: 'shmem' }, /minor: true needs backing: 'memfd' \(got 'shmem'\)/);
    await refuse({ backing: 'tmpfs' }, /backing must be one of 'anonymous', 'memfd', 'shmem', got string 'tmpfs'/);
    await refuse({ minor: 'yes', backing: 'memfd' }, /minor must be true or false/);
    assert.throws(() => resolvers.pageCache({ missing: 'retry' }), /missing must be 'zero' or 'poison'/);
  } finally {
    await handler.close();
  }
});

// ---- an adopted uffd whose range the peer registered MINOR

let tmp;
let child;
before(() => {
  tmp = tempDir();
  child = join(tmp.dir, 'uffd-minor-child');
  const src = fileURLToPath(new URL('./fixtures/uffd-minor-child.c', import.meta.url));
  execFileSync('cc', ['-O1', '-Wall', `-I${join(buildDir, '..', '..', 'src')}`, '-o', child, src]);
});
after(() => tmp?.cleanup());

for (const nativeResolvers of [true, false]) {
  test(`adopt(): a peer's MINOR range served by resolvers.pageCache() (${nativeResolvers ? 'native path' : 'JS'})`, async () => {
    const handler = await FaultHandler.create({ workers: 2, nativeResolvers });
    try {
      const socket = join(tmp.dir, `minor-${nativeResolvers}.sock`);
      let adopted;
      let adoptError;
      const ready = new Promise((resolve) => {
        const listener = listenForUffds(socket, {}, async (conn) => {
          try {
            const { address, size } = JSON.parse(conn.payload.toString('utf8'));
            conn.close();
            adopted = await handler.adopt(conn.uffd, { regions: [{ address, size, resolver: resolvers.pageCache() }] });
          } catch (err) {
            adoptError = err;
          } finally {
            listener.close();
            resolve();
          }
        });
      });
      const proc = spawn(child, [socket, String(SEED)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      proc.stdout.on('data', (d) => (out += d));
      proc.stderr.on('data', (d) => (out += d));
      const exit = await new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
      await ready;
      assert.equal(adoptError, undefined, `adopt failed: ${adoptError?.message}`);
      assert.deepEqual(exit, { code: 0, signal: null }, out);
      assert.match(out, /ok minor/);
      assert.ok(await handler.idle());
      const s = adopted.stats()[0];
      // Pages 0-11 and 14-15 were in the page cache when touched: one CONTINUE each. Pages 12-13
      // were not: with MINOR alone they fault in as ordinary zero pages, no message.
      assert.equal(s.continued, 14);
      assert.equal(s.faults, 14);
      assert.equal(s.pagesInstalled, 14);
      assert.equal(s.zeroFills + s.errors + s.poisoned, 0);
      await adopted.close();
    } finally {
      await handler.close();
    }
  });
}
