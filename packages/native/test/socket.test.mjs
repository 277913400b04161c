// UnixServer (socket/): the mechanism. Accepting with peer credentials before
// anything is read, reading one message with its SCM_RIGHTS fds within the
// byte budget given to receive(), dropping a connection, watching the peer's
// exit, the 0600 socket file, and no fd leaked on any path. The peer policy
// built on it (uid allow-list, handshake timeout, size cap) is tested in
// packages/core/test/unix-server.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, existsSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import native from '@faultline/native';
import { buildSendFds, channel, closeMessage, openFdList as openFds, runPeer } from './fixtures/socket-peers.mjs';

const { UnixServer, isUserfaultfd } = native;
let dir;
let sendFds;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'faultline-socket-'));
  sendFds = buildSendFds(dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
const socketPath = () => join(dir, `s${++n}.sock`);
const run = (args) => runPeer(sendFds, dir, args);

/**
 * Starts a server. With `budget`, every connection is read at once with that
 * byte budget; without, connections wait for the test to decide. `next()`
 * resolves with the next message/ended event, `nextConnection()` with the next
 * accepted connection, `nextExit()` with the next peer exit.
 */
function serve(options = {}, { budget } = {}) {
  const path = socketPath();
  const outcomes = channel();
  const connections = channel();
  const exits = channel();
  const server = new UnixServer(path, options, (event) => {
    if (event.kind === 'connection') {
      connections.push(event);
      if (budget !== undefined) server.receive(event.connection, budget);
    } else if (event.kind === 'exited') {
      exits.push(event);
    } else {
      outcomes.push(event);
    }
  });
  return { server, path, next: outcomes.next, nextConnection: connections.next, nextExit: exits.next, outcomes };
}

const tick = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits (up to 2 s) until `done()` holds; the caller asserts afterwards. */
async function until(done) {
  const deadline = Date.now() + 2000;
  while (!done() && Date.now() < deadline) await tick(5);
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

test('bind errors are Node-shaped with a hint; bad and policy options are TypeErrors', () => {
  const path = socketPath();
  writeFileSync(path, 'not a socket');
  assert.throws(() => new UnixServer(path, {}, () => {}), (e) => e.code === 'EADDRINUSE' && /remove it/.test(e.message));
  assert.throws(() => new UnixServer(join(dir, 'x'.repeat(120)), {}, () => {}), { code: 'ENAMETOOLONG' });
  assert.throws(() => new UnixServer(socketPath(), { backlog: -1 }, () => {}), TypeError);
  assert.throws(() => new UnixServer(socketPath(), { mode: 0o1777 }, () => {}), TypeError);
  // Peer policy given to the mechanism would go unenforced: refused, pointing at the wrapper.
  for (const policy of [{ allowUids: [0] }, { handshakeTimeoutMs: 10 }, { maxMessageBytes: 10 }]) {
    assert.throws(() => new UnixServer(socketPath(), policy, () => {}), (e) => e instanceof TypeError && /ipc\/unix-server/.test(e.message));
  }
});

test('a connection is reported with its credentials before anything is read; receive() delivers payload, fds and credentials', async () => {
  const before = openFds();
  const { server, path, next, nextConnection, nextExit, outcomes } = serve();
  const peer = run([path, 'uffd', '1', '[{"hello":"world"}]']);
  const c = await nextConnection();
  assert.deepEqual(c, { kind: 'connection', connection: c.connection, pid: peer.child.pid, uid: process.getuid(), gid: process.getgid() });
  await tick(50);
  assert.equal(outcomes.pending(), 0, 'nothing is read until receive()');
  server.receive(c.connection, 65536);
  const ev = await next();
  assert.equal(ev.kind, 'message');
  assert.equal(ev.connection, c.connection);
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
  const { server, path, next } = serve({}, { budget: 1024 });
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
  const { server, path, next } = serve({}, { budget: 1024 });
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

test('receive() reads at most its byte budget; the rest stays unread in the socket', async () => {
  const before = openFds();
  const { server, path, next } = serve({}, { budget: 1025 });
  const big = run([path, 'uffd', '3', 'y'.repeat(4000)]);
  const ev = await next();
  assert.equal(ev.kind, 'message');
  assert.equal(ev.payload.length, 1025);
  assert.equal(ev.payload.toString(), 'y'.repeat(1025));
  assert.equal(ev.fds.length, 3, 'the fds came with the first bytes');
  assert.equal(ev.peerClosed, false);
  closeMessage(ev); // closing with unread bytes: the peer sees the connection reset
  const result = await big.exited;
  assert.equal(result.code, 0, result.out);
  server.close();
  assert.equal(openFds(), before);
});

test('a peer that closes before sending ends its connection (closed by the server)', async () => {
  const before = openFds();
  const { server, path, next } = serve({}, { budget: 1024 });
  const gone = connect(path);
  await new Promise((r) => gone.on('connect', r));
  const goneClosed = new Promise((r) => gone.on('close', r));
  gone.end();
  const ev = await next();
  assert.deepEqual(ev, { kind: 'ended', connection: ev.connection, pid: process.pid, uid: process.getuid(), gid: process.getgid() });
  await goneClosed;
  server.close();
  assert.equal(openFds(), before);
});

test('drop(): a connection awaiting a decision is closed unread, one being read is closed too; no event follows', async () => {
  const before = openFds();
  const { server, path, nextConnection, outcomes } = serve();
  const serving = openFds(); // the listening socket and the wake-up eventfd
  // Dropped before anything was read: the fds it sent never enter this process.
  const unread = run([path, 'uffd', '2', '[]']);
  const c = await nextConnection();
  server.drop(c.connection);
  assert.equal((await unread.exited).code, 0, 'the peer saw the server close the connection');
  await until(() => openFds() === serving);
  assert.equal(openFds(), serving, 'its socket and pidfd are closed, and none of its fds was received');

  // Being read (receive() given) but silent: drop closes it, the peer sees the close.
  const silent = connect(path);
  const closedByServer = new Promise((r) => silent.on('close', r));
  const s = await nextConnection();
  server.receive(s.connection, 1024);
  await tick(20);
  server.drop(s.connection);
  await closedByServer;
  server.drop(s.connection); // already gone: ignored
  await tick(50);
  assert.equal(outcomes.pending(), 0, 'no message or ended event for dropped connections');
  server.close();
  assert.equal(openFds(), before);
});

test('many clients at once each get their own delivery', async () => {
  const { server, path, next } = serve({}, { budget: 1024 });
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

test('close() with connections still awaiting a decision or being read closes them', async () => {
  const before = openFds();
  const { server, path, nextConnection } = serve();
  const waiting = connect(path);
  const reading = connect(path);
  const closed = Promise.all([waiting, reading].map((s) => new Promise((r) => s.on('close', r))));
  await nextConnection();
  const second = await nextConnection();
  server.receive(second.connection, 1024);
  await tick(20);
  server.close();
  await closed;
  assert.equal(existsSync(path), false);
  assert.equal(openFds(), before);
});

test('drop() after the message: no exit event for that peer, and its pidfd is closed', async () => {
  const before = openFds();
  const { server, path, next, nextExit } = serve({}, { budget: 1024 });
  const first = run([path, 'pipe', '1', 'first']);
  const a = await next();
  server.drop(a.connection);
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
