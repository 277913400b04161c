// UnixServer (socket.cc): handshakes with SCM_RIGHTS fds, peer credentials,
// the 0600 socket file, every rejection path, and no fd leaked by any of them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, existsSync, readdirSync, closeSync, writeFileSync, openSync, readFileSync, readlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import native from '@faultline/native';

const { UnixServer, isUserfaultfd } = native;
let dir;
let sendFds;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'faultline-socket-'));
  sendFds = join(dir, 'send-fds');
  const src = fileURLToPath(new URL('./fixtures/send-fds.c', import.meta.url));
  execFileSync('cc', ['-O2', '-Wall', '-o', sendFds, src]);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** This process's open fds, as "fd->target" (readable when a leak check fails). */
const openFds = () =>
  readdirSync('/proc/self/fd')
    .map((f) => {
      try {
        return `${f}->${readlinkSync(`/proc/self/fd/${f}`)}`;
      } catch {
        return f; // the fd readdir itself used
      }
    })
    .join(' ');
let n = 0;
const socketPath = () => join(dir, `s${++n}.sock`);

/** An async queue of events. */
function channel() {
  const queue = [];
  const waiters = [];
  return {
    push(event) {
      const w = waiters.shift();
      if (w) w(event);
      else queue.push(event);
    },
    next: () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiters.push(r))),
  };
}

/** Starts a server; `next()` resolves with the next handshake outcome, `nextExit()` with the next peer exit. */
function serve(options = {}) {
  const path = socketPath();
  const outcomes = channel();
  const exits = channel();
  const server = new UnixServer(path, options, (event) => (event.kind === 'exited' ? exits : outcomes).push(event));
  return { server, path, next: outcomes.next, nextExit: exits.next };
}

// Children write to a file, not a pipe: Node closes child pipes lazily, which
// would blur the fd-leak checks.
function run(args) {
  const log = join(dir, `peer-${++n}.log`);
  const out = openSync(log, 'w');
  const child = spawn(sendFds, args, { stdio: ['ignore', out, out] });
  closeSync(out);
  const exited = new Promise((resolve) =>
    child.on('exit', (code) => resolve({ code, out: readFileSync(log, 'utf8') })),
  );
  return { child, exited };
}

function closeMessage(ev) {
  for (const fd of ev.fds) closeSync(fd);
  closeSync(ev.fd);
}

test('the socket file is created 0600 whatever the umask, and removed by close()', () => {
  const old = process.umask(0);
  try {
    const { server, path } = serve();
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.ok(statSync(path).isSocket());
    server.close();
    assert.equal(existsSync(path), false);
    server.close(); // idempotent

    const custom = serve({ mode: 0o660 });
    assert.equal(statSync(custom.path).mode & 0o777, 0o660);
    custom.server.close();
  } finally {
    process.umask(old);
  }
});

test('bind errors are Node-shaped with a hint', () => {
  const path = socketPath();
  writeFileSync(path, 'not a socket');
  assert.throws(() => new UnixServer(path, {}, () => {}), (e) => e.code === 'EADDRINUSE' && /remove it/.test(e.message));
  assert.throws(() => new UnixServer(join(dir, 'x'.repeat(120)), {}, () => {}), { code: 'ENAMETOOLONG' });
  assert.throws(() => new UnixServer(socketPath(), { maxMessageBytes: -1 }, () => {}), TypeError);
});

test('a handshake arrives with its payload, its fds and the peer credentials', async () => {
  const before = openFds();
  const { server, path, next, nextExit } = serve();
  const peer = run([path, 'uffd', '1', '[{"hello":"world"}]']);
  const ev = await next();
  assert.equal(ev.kind, 'message');
  assert.equal(ev.payload.toString(), '[{"hello":"world"}]');
  assert.equal(ev.pid, peer.child.pid);
  assert.equal(ev.uid, process.getuid());
  assert.equal(ev.gid, process.getgid());
  assert.equal(ev.fds.length, 1);
  assert.equal(isUserfaultfd(ev.fds[0]), true);
  assert.equal(ev.fdsTruncated, false);
  assert.equal(ev.watched, true);
  closeMessage(ev); // closing the connection lets the peer exit
  const { code, out } = await peer.exited;
  assert.equal(code, 0, out);
  assert.deepEqual(await nextExit(), { kind: 'exited', connection: ev.connection, pid: peer.child.pid });
  server.close();
  assert.equal(openFds(), before);
});

test('isUserfaultfd tells a pipe from a uffd and throws EBADF on a closed fd', async () => {
  const { server, path, next } = serve();
  const peer = run([path, 'pipe', '2', 'x']);
  const ev = await next();
  assert.deepEqual(ev.fds.map(isUserfaultfd), [false, false]);
  const closed = ev.fds[0];
  closeMessage(ev);
  assert.throws(() => isUserfaultfd(closed), { code: 'EBADF' });
  assert.equal((await peer.exited).code, 0);
  server.close();
});

test('more fds than fit are reported as truncated (the kernel closes the rest)', async () => {
  const before = openFds();
  const { server, path, next } = serve();
  const peer = run([path, 'pipe', '20', 'many']);
  const ev = await next();
  assert.equal(ev.kind, 'message');
  assert.equal(ev.fds.length, 16);
  assert.equal(ev.fdsTruncated, true);
  closeMessage(ev);
  assert.equal((await peer.exited).code, 0);
  server.close();
  assert.equal(openFds(), before);
});

test('rejections: oversized, disconnected, silent, disallowed uid; their fds are closed', async () => {
  const before = openFds();
  const { server, path, next } = serve({ maxMessageBytes: 1024, handshakeTimeoutMs: 300 });

  const big = run([path, 'uffd', '3', 'y'.repeat(4000)]);
  let ev = await next();
  assert.equal(ev.kind, 'rejected');
  assert.equal(ev.code, 'ERR_FAULTLINE_SOCKET_TOO_LARGE');
  assert.equal(ev.pid, big.child.pid);
  const bigResult = await big.exited;
  assert.equal(bigResult.code, 0, bigResult.out); // the server closed the connection on it

  const gone = connect(path);
  await new Promise((r) => gone.on('connect', r));
  const goneClosed = new Promise((r) => gone.on('close', r));
  gone.end();
  ev = await next();
  assert.equal(ev.code, 'ERR_FAULTLINE_SOCKET_DISCONNECTED');
  await goneClosed;

  const silent = connect(path);
  const closedByServer = new Promise((r) => silent.on('close', r));
  const t0 = Date.now();
  ev = await next();
  assert.equal(ev.code, 'ERR_FAULTLINE_SOCKET_TIMEOUT');
  assert.ok(Date.now() - t0 >= 250, 'timed out too early');
  await closedByServer;

  server.close();
  assert.equal(openFds(), before);

  const strict = serve({ allowUids: [process.getuid() + 4242] });
  const denied = run([strict.path, 'uffd', '1', '[]']);
  ev = await strict.next();
  assert.equal(ev.kind, 'rejected');
  assert.equal(ev.code, 'ERR_FAULTLINE_SOCKET_PEER_REJECTED');
  assert.equal(ev.uid, process.getuid());
  assert.equal((await denied.exited).code, 0);
  strict.server.close();
  assert.equal(openFds(), before);
});

test('many clients at once each get their own delivery', async () => {
  const { server, path, next } = serve();
  const peers = Array.from({ length: 12 }, (_, i) => run([path, i % 2 ? 'uffd' : 'pipe', '1', `client-${i}`]));
  const seen = new Set();
  for (let i = 0; i < peers.length; i++) {
    const ev = await next();
    assert.equal(ev.kind, 'message');
    const idx = Number(ev.payload.toString().slice('client-'.length));
    assert.equal(isUserfaultfd(ev.fds[0]), idx % 2 === 1);
    seen.add(idx);
    closeMessage(ev);
  }
  assert.equal(seen.size, peers.length);
  for (const p of peers) assert.equal((await p.exited).code, 0);
  server.close();
});

test('close() with a connection still in its handshake closes it', async () => {
  const before = openFds();
  const { server, path } = serve();
  const waiting = connect(path);
  await new Promise((r) => waiting.on('connect', r));
  await new Promise((r) => setTimeout(r, 50)); // let the server thread accept it
  const closed = new Promise((r) => waiting.on('close', r));
  server.close();
  await closed;
  assert.equal(existsSync(path), false);
  assert.equal(openFds(), before);
});

test('unwatch(connection): no exit event for that peer, and its pidfd is closed', async () => {
  const before = openFds();
  const { server, path, next, nextExit } = serve();
  const first = run([path, 'pipe', '1', 'first']);
  const a = await next();
  server.unwatch(a.connection);
  closeMessage(a);
  await first.exited;
  const second = run([path, 'pipe', '1', 'second']);
  const b = await next();
  closeMessage(b);
  await second.exited;
  // Only the second peer's exit is reported.
  assert.equal((await nextExit()).connection, b.connection);
  server.close();
  assert.equal(openFds(), before);
});
