// Real userfaultfd round trips through the addon's raw bindings.
//
// The thread that touches registered memory blocks in the kernel until the
// fault is resolved, so the touching side is always a worker_thread (or a child
// process) and this thread serves. Every session closes its uffd in `finally`:
// closing releases any toucher still parked (it then reads zeros), so a bug
// fails the test instead of hanging it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import native from '@faultline/native';
import { addonPath, checkFdsClosedAfterAll } from './fixtures/native-test-env.mjs';

const { constants: C } = native;
const PAGE = native.pageSize();

checkFdsClosedAfterAll();

// ------------------------------------------------------------------ helpers

function pattern(length, seed) {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// A worker that touches [offset, offset+length) of `buffer` (writing `value` at
// offset first when `write`), then posts back a copy of those bytes and its tid.
const TOUCHER = `
  const { parentPort, workerData: w } = require('node:worker_threads');
  const tid = require(w.addonPath).gettid();
  const view = new Uint8Array(w.buffer, w.offset, w.length);
  if (w.write) view[0] = w.value;
  parentPort.postMessage({ bytes: Uint8Array.from(view), tid });
`;

// `result` resolves with the bytes the toucher read, `tid` with its thread id.
function touch(buffer, offset, length, { write = false, value = 0 } = {}) {
  const workerData = { buffer, offset, length, write, value, addonPath };
  const worker = new Worker(TOUCHER, { eval: true, workerData });
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  const posted = new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const result = posted.then((m) => m.bytes);
  const tid = posted.then((m) => m.tid);
  result.catch(() => {}); // observed by the test; avoid an unhandled rejection if it never is
  tid.catch(() => {});
  return { result, tid, exited };
}

// True when `result` has not settled within `ms`: the toucher is still parked.
async function stillParked(result, ms = 100) {
  return (await Promise.race([result.then(() => 'done'), delay(ms).then(() => 'parked')])) === 'parked';
}

// Polls the non-blocking uffd until a message arrives; decodes struct uffd_msg.
async function nextMessage(fd, timeoutMs = 5000) {
  const out = new Uint8Array(32 * 4);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = native.uffdRead(fd, out);
    if (n > 0) {
      assert.equal(n, 1, 'exactly one fault pending');
      const dv = new DataView(out.buffer);
      return {
        event: dv.getUint8(0),
        flags: Number(dv.getBigUint64(8, true)),
        address: Number(dv.getBigUint64(16, true)),
        ptid: dv.getUint32(24, true),
      };
    }
    if (Date.now() > deadline) throw new Error(`no uffd message within ${timeoutMs} ms`);
    await delay(1);
  }
}

// One uffd over a fresh anonymous mapping of `pages` pages registered with
// `mode`. Closes the uffd and waits for every toucher to exit, whatever happens.
async function session({ features = 0, pages = 4, mode = C.UFFDIO_REGISTER_MODE_MISSING }, body) {
  const fd = native.uffdCreate();
  const touchers = [];
  try {
    native.uffdApi(fd, features);
    const map = native.mapAnonymous(pages * PAGE);
    const ioctls = native.uffdRegister(fd, map.address, map.length, mode);
    const toucher = (...args) => {
      const t = touch(...args);
      touchers.push(t);
      return t.result;
    };
    toucher.last = () => touchers[touchers.length - 1];
    await body({ fd, map, ioctls, touch: toucher });
  } finally {
    native.closeFd(fd);
    await withTimeout(Promise.all(touchers.map((t) => t.exited)), 5000, 'touchers to exit');
  }
}

// ------------------------------------------------------------------ handshake

test('create + api + probe: features and ioctls come back as numbers', () => {
  const offered = native.uffdProbe();
  assert.equal(typeof offered.features, 'number');
  // The features this project relies on are offered by this kernel.
  for (const name of ['PAGEFAULT_FLAG_WP', 'MINOR_SHMEM', 'POISON', 'MOVE', 'THREAD_ID']) {
    assert.ok(offered.features & C[`UFFD_FEATURE_${name}`], `${name} offered`);
  }
  const fd = native.uffdCreate();
  try {
    const wanted = C.UFFD_FEATURE_THREAD_ID | C.UFFD_FEATURE_PAGEFAULT_FLAG_WP;
    const granted = native.uffdApi(fd, wanted);
    assert.equal(granted.features, wanted, 'exactly the requested features are enabled');
    assert.ok(granted.ioctls & C.UFFDIO_IOCTL_REGISTER);
    assert.ok(granted.ioctls & C.UFFDIO_IOCTL_UNREGISTER);
    // A second handshake on the same fd is refused by the kernel.
    assert.throws(() => native.uffdApi(fd, 0), (err) => {
      assert.equal(err.code, 'EINVAL');
      assert.equal(err.errno, -22);
      assert.equal(err.syscall, 'ioctl(UFFDIO_API)');
      assert.match(err.message, /once per userfaultfd/);
      return true;
    });
  } finally {
    native.closeFd(fd);
  }
});

test('uffdApi names the features the kernel does not offer', () => {
  const fd = native.uffdCreate({ nonBlocking: false });
  try {
    assert.throws(() => native.uffdApi(fd, C.UFFD_FEATURE_MOVE + 2 ** 40), (err) => {
      assert.equal(err.code, 'EINVAL');
      assert.match(err.message, /does not offer unknown bit 40/);
      assert.doesNotMatch(err.message, /MOVE/, 'offered features are not blamed');
      return true;
    });
  } finally {
    native.closeFd(fd);
  }
});

test('userModeOnly uffds work too', () => {
  const fd = native.uffdCreate({ userModeOnly: true });
  try {
    assert.ok(native.uffdApi(fd, 0).ioctls & C.UFFDIO_IOCTL_REGISTER);
  } finally {
    native.closeFd(fd);
  }
});

test('bad arguments throw TypeError, closed fds throw EBADF', () => {
  assert.throws(() => native.uffdCreate({ nonBlocking: 1 }), TypeError);
  assert.throws(() => native.uffdCopy(-1, 0, new Uint8Array(8), 0, 8, 0), TypeError);
  assert.throws(() => native.uffdCopy(0, 0, [1, 2], 0, 2, 0), /src must be a typed array or DataView/);
  assert.throws(() => native.uffdCopy(0, 0, new Uint8Array(8), 4, 5, 0), /exceeds src's 8 bytes/);
  assert.throws(() => native.uffdRead(0, new Uint8Array(16)), /at least 32 bytes/);
  const fd = native.uffdCreate();
  native.closeFd(fd);
  assert.throws(() => native.closeFd(fd), (err) => err.code === 'EBADF' && err.syscall === 'close');
  // Kernel outcomes of installs are return values, not exceptions: an ioctl on
  // a file that is not a uffd is -ENOTTY.
  const memfd = native.memfdCreate('not-a-uffd', PAGE);
  try {
    assert.equal(native.uffdZeropage(memfd, 0, PAGE, 0), -25);
  } finally {
    native.closeFd(memfd);
  }
});

test('isUserfaultfd: true for a uffd, false for another fd, EBADF for a closed one', () => {
  const fd = native.uffdCreate();
  const memfd = native.memfdCreate('not-a-uffd', PAGE);
  try {
    assert.equal(native.isUserfaultfd(fd), true);
    assert.equal(native.isUserfaultfd(memfd), false);
  } finally {
    native.closeFd(fd);
    native.closeFd(memfd);
  }
  assert.throws(() => native.isUserfaultfd(fd), (err) => err.code === 'EBADF' && err.syscall === 'fstat');
  assert.throws(() => native.isUserfaultfd(-1), TypeError);
});

test('register reports the range ioctls; unaligned ranges are EINVAL with a hint', async () => {
  await session({ pages: 1 }, async ({ fd, map, ioctls }) => {
    for (const name of ['COPY', 'ZEROPAGE', 'WAKE', 'POISON', 'MOVE']) {
      assert.ok(ioctls & C[`UFFDIO_IOCTL_${name}`], `${name} allowed on anonymous memory`);
    }
    // Registered for MISSING only: no WP, and CONTINUE is for MINOR on shmem.
    assert.equal(ioctls & C.UFFDIO_IOCTL_WRITEPROTECT, 0);
    assert.equal(ioctls & C.UFFDIO_IOCTL_CONTINUE, 0);
    assert.throws(() => native.uffdRegister(fd, map.address + 1, PAGE, C.UFFDIO_REGISTER_MODE_MISSING), (err) => {
      assert.equal(err.code, 'EINVAL');
      assert.match(err.message, /page-aligned/);
      return true;
    });
    native.uffdUnregister(fd, map.address, map.length);
  });
});

// ------------------------------------------------------------------ missing faults

test('a read fault is reported and uffdCopy installs the exact bytes', async () => {
  await session({ pages: 4 }, async ({ fd, map, touch }) => {
    const got = touch(map.buffer, 2 * PAGE + 100, 64);
    const msg = await nextMessage(fd);
    assert.equal(msg.event, C.UFFD_EVENT_PAGEFAULT);
    assert.equal(msg.event, 0x12);
    assert.equal(msg.flags, 0, 'a read of a missing page');
    assert.equal(msg.address, map.address + 2 * PAGE, 'page-aligned fault address');
    // The source is a view into a SharedArrayBuffer, at an offset.
    const src = new Uint8Array(new SharedArrayBuffer(PAGE + 16), 16, PAGE);
    src.set(pattern(PAGE, 7));
    assert.equal(native.uffdCopy(fd, msg.address, src, 0, PAGE, 0), PAGE);
    assert.deepEqual(await withTimeout(got, 5000, 'the toucher'), pattern(PAGE, 7).subarray(100, 164));
  });
});

test('a write fault carries FLAG_WRITE; the write lands on the copied page', async () => {
  await session({ pages: 1 }, async ({ fd, map, touch }) => {
    const got = touch(map.buffer, 0, 8, { write: true, value: 0xee });
    const msg = await nextMessage(fd);
    assert.equal(msg.flags, C.UFFD_PAGEFAULT_FLAG_WRITE);
    const src = new DataView(pattern(PAGE + 8, 3).buffer, 8, PAGE); // DataView source, byteOffset 8
    assert.equal(native.uffdCopy(fd, msg.address, src, 0, PAGE, 0), PAGE);
    const expected = pattern(PAGE + 8, 3).subarray(8, 16);
    expected[0] = 0xee;
    assert.deepEqual(await withTimeout(got, 5000, 'the toucher'), expected);
  });
});

test('uffdZeropage resolves with zeros', async () => {
  await session({ pages: 2 }, async ({ fd, map, touch }) => {
    const got = touch(map.buffer, PAGE, PAGE);
    const msg = await nextMessage(fd);
    assert.equal(native.uffdZeropage(fd, msg.address, PAGE, 0), PAGE);
    assert.deepEqual(await withTimeout(got, 5000, 'the toucher'), new Uint8Array(PAGE));
    assert.equal(native.uffdZeropage(fd, msg.address, PAGE, 0), -C.EEXIST);
  });
});

test('DONTWAKE copy leaves the toucher parked, EEXIST does not wake it, uffdWake does', async () => {
  await session({ pages: 1 }, async ({ fd, map, touch }) => {
    const got = touch(map.buffer, 0, 16);
    const msg = await nextMessage(fd);
    const first = pattern(PAGE, 1);
    assert.equal(native.uffdCopy(fd, msg.address, first, 0, PAGE, C.UFFDIO_COPY_MODE_DONTWAKE), PAGE);
    assert.ok(await stillParked(got), 'DONTWAKE: the toucher stays parked');
    assert.equal(native.uffdCopy(fd, msg.address, pattern(PAGE, 2), 0, PAGE, 0), -17, 'second copy: -EEXIST');
    assert.ok(await stillParked(got, 50), 'EEXIST does not wake the toucher');
    assert.equal(native.uffdWake(fd, msg.address, PAGE), 0);
    assert.deepEqual(await withTimeout(got, 5000, 'the toucher'), first.subarray(0, 16), 'the first copy won');
  });
});

test('a copy that meets an installed page reports partial progress', async () => {
  await session({ pages: 2 }, async ({ fd, map }) => {
    // Page 1 is installed first, so a two-page copy stops after page 0: the
    // kernel answers -1/EAGAIN with copy = PAGE, and the binding returns PAGE.
    assert.equal(native.uffdZeropage(fd, map.address + PAGE, PAGE, 0), PAGE);
    const src = pattern(2 * PAGE, 9);
    assert.equal(native.uffdCopy(fd, map.address, src, 0, 2 * PAGE, 0), PAGE);
    // Both pages are present now, so this thread may read them.
    const view = new Uint8Array(map.buffer);
    assert.deepEqual(view.subarray(0, PAGE), src.subarray(0, PAGE));
    assert.deepEqual(view.subarray(PAGE, 2 * PAGE), new Uint8Array(PAGE));
  });
});

test('uffdCopyFrom copies from a raw address of ours', async () => {
  await session({ pages: 1 }, async ({ fd, map, touch }) => {
    const got = touch(map.buffer, 0, PAGE);
    const msg = await nextMessage(fd);
    const staging = native.mapAnonymous(PAGE);
    new Uint8Array(staging.buffer).set(pattern(PAGE, 42));
    assert.equal(native.uffdCopyFrom(fd, msg.address, staging.address, PAGE, 0), PAGE);
    assert.deepEqual(await withTimeout(got, 5000, 'the toucher'), pattern(PAGE, 42));
  });
});

// ------------------------------------------------------------------ other install kinds

test('writeprotect: a write to a WP page faults with WRITE|WP until protection is cleared', async () => {
  const mode = C.UFFDIO_REGISTER_MODE_MISSING | C.UFFDIO_REGISTER_MODE_WP;
  await session({ features: C.UFFD_FEATURE_PAGEFAULT_FLAG_WP, pages: 1, mode }, async ({ fd, map, touch }) => {
    const content = pattern(PAGE, 5);
    assert.equal(native.uffdCopy(fd, map.address, content, 0, PAGE, C.UFFDIO_COPY_MODE_WP), PAGE);
    const got = touch(map.buffer, 0, 4, { write: true, value: 0x5a });
    const msg = await nextMessage(fd);
    assert.equal(msg.event, C.UFFD_EVENT_PAGEFAULT);
    assert.equal(msg.flags, C.UFFD_PAGEFAULT_FLAG_WRITE | C.UFFD_PAGEFAULT_FLAG_WP);
    assert.equal(msg.flags, 0x3);
    assert.equal(msg.address, map.address);
    assert.ok(await stillParked(got, 50), 'the writer waits for the handler');
    assert.equal(new Uint8Array(map.buffer)[0], content[0], 'reads of a WP page do not fault; not yet written');
    assert.equal(native.uffdWriteprotect(fd, map.address, PAGE, 0), 0);
    const expected = content.slice(0, 4);
    expected[0] = 0x5a;
    assert.deepEqual(await withTimeout(got, 5000, 'the writer'), expected);
  });
});

test('continue: a minor fault on a memfd mapping is resolved with bytes written through a second mapping', async () => {
  const memfd = native.memfdCreate('faultline-minor-test', 2 * PAGE);
  const fd = native.uffdCreate();
  let toucher;
  try {
    native.uffdApi(fd, C.UFFD_FEATURE_MINOR_SHMEM);
    const registered = native.mapFd(memfd, 2 * PAGE, 0);
    const editor = native.mapFd(memfd, 2 * PAGE, 0);
    native.uffdRegister(fd, registered.address, registered.length, C.UFFDIO_REGISTER_MODE_MINOR);
    // The page must be in the page cache for a minor fault: fill it through the
    // unregistered mapping.
    new Uint8Array(editor.buffer).set(pattern(PAGE, 77), PAGE);
    toucher = touch(registered.buffer, PAGE, PAGE);
    const msg = await nextMessage(fd);
    assert.equal(msg.flags, C.UFFD_PAGEFAULT_FLAG_MINOR);
    assert.equal(msg.address, registered.address + PAGE);
    assert.equal(native.uffdContinue(fd, msg.address, PAGE, 0), PAGE);
    assert.deepEqual(await withTimeout(toucher.result, 5000, 'the toucher'), pattern(PAGE, 77));
    assert.equal(native.uffdContinue(fd, msg.address, PAGE, 0), -C.EEXIST, 'a repeated CONTINUE is EEXIST');
  } finally {
    native.closeFd(fd);
    native.closeFd(memfd);
    if (toucher) await withTimeout(toucher.exited, 5000, 'the toucher to exit');
  }
});

test('move: a page of ours is moved into the faulting range', async () => {
  await session({ features: C.UFFD_FEATURE_MOVE, pages: 1 }, async ({ fd, map, touch }) => {
    const src = native.mapAnonymous(PAGE);
    new Uint8Array(src.buffer).set(pattern(PAGE, 99));
    const got = touch(map.buffer, 0, PAGE);
    const msg = await nextMessage(fd);
    assert.equal(native.uffdMove(fd, msg.address, src.address, PAGE, 0), PAGE);
    assert.deepEqual(await withTimeout(got, 5000, 'the toucher'), pattern(PAGE, 99));
    assert.deepEqual(new Uint8Array(src.buffer), new Uint8Array(PAGE), 'the source page is gone (reads zero)');
  });
});

test('poison: a toucher in a child process gets SIGBUS', () => {
  const script = `
    const n = require(${JSON.stringify(addonPath)});
    const C = n.constants;
    const fd = n.uffdCreate();
    n.uffdApi(fd, C.UFFD_FEATURE_POISON);
    const map = n.mapAnonymous(n.pageSize());
    n.uffdRegister(fd, map.address, map.length, C.UFFDIO_REGISTER_MODE_MISSING);
    process.stdout.write('poisoned ' + n.uffdPoison(fd, map.address, map.length, 0) + '\\n');
    process.stdout.write('byte ' + new Uint8Array(map.buffer)[0] + '\\n');
  `;
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(child.stdout, `poisoned ${PAGE}\n`, `child stderr: ${child.stderr}`);
  assert.equal(child.signal, 'SIGBUS');
});

test('THREAD_ID: the message names the faulting thread', async () => {
  await session({ features: C.UFFD_FEATURE_THREAD_ID, pages: 1 }, async ({ fd, map, touch }) => {
    const got = touch(map.buffer, 0, 8);
    const msg = await nextMessage(fd);
    assert.equal(native.uffdZeropage(fd, msg.address, PAGE, 0), PAGE);
    assert.deepEqual(await withTimeout(got, 5000, 'the toucher'), new Uint8Array(8));
    assert.equal(msg.ptid, await touch.last().tid);
    assert.notEqual(msg.ptid, native.gettid());
  });
});

test('an unprivileged user is refused with a hint, and userModeOnly works for it', (t) => {
  const unprivileged = Number(readFileSync('/proc/sys/vm/unprivileged_userfaultfd', 'utf8'));
  if (process.getuid() !== 0 || unprivileged !== 0) {
    t.skip('needs root (to run a child as nobody) and vm.unprivileged_userfaultfd=0');
    return;
  }
  const script = `
    const n = require(${JSON.stringify(addonPath)});
    let refused;
    try { n.closeFd(n.uffdCreate()); } catch (e) { refused = { code: e.code, message: e.message }; }
    const fd = n.uffdCreate({ userModeOnly: true });
    const ioctls = n.uffdApi(fd, 0).ioctls;
    n.closeFd(fd);
    process.stdout.write(JSON.stringify({ refused, ioctls }));
  `;
  const child = spawnSync(process.execPath, ['-e', script], { uid: 65534, gid: 65534, encoding: 'utf8', timeout: 10_000 });
  assert.equal(child.status, 0, child.stderr);
  const { refused, ioctls } = JSON.parse(child.stdout);
  if (refused === undefined) {
    t.skip('this user may open /dev/userfaultfd');
    return;
  }
  assert.equal(refused.code, 'EPERM');
  assert.match(refused.message, /vm\.unprivileged_userfaultfd=1/);
  assert.match(refused.message, /\/dev\/userfaultfd/);
  assert.match(refused.message, /userModeOnly: true/);
  assert.ok(ioctls & C.UFFDIO_IOCTL_REGISTER);
});

test('uffdRead returns 0 when nothing is pending', async () => {
  await session({ pages: 1 }, async ({ fd }) => {
    assert.equal(native.uffdRead(fd, new Uint8Array(64)), 0);
  });
});
