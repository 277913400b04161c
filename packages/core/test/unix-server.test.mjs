// UnixServer (src/ipc/unix-server.ts): the peer policy over the native socket
// mechanism. Every rejection path (oversized, disconnected, silent, disallowed
// uid) with its code and the peer's credentials, the handshake timeout's
// timing, option checks, unwatch, and no fd leaked by any of them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { UnixServer } from '../dist/ipc/unix-server.js';
import { tempDir } from './helpers.mjs';
import { buildSendFds, channel, closeMessage, openFdList as openFds, runPeer } from '../../native/test/fixtures/socket-peers.mjs';

let tmp;
let sendFds;

before(() => {
  tmp = tempDir('faultline-unix-server-');
  sendFds = buildSendFds(tmp.dir);
});
after(() => tmp.cleanup());

let n = 0;
const socketPath = () => join(tmp.dir, `s${++n}.sock`);
const run = (args) => runPeer(sendFds, tmp.dir, args);

/** Starts a server; `next()` resolves with the next handshake outcome, `nextExit()` with the next peer exit. */
function serve(options = {}) {
  const path = socketPath();
  const outcomes = channel();
  const exits = channel();
  const server = new UnixServer(path, options, (event) => (event.kind === 'exited' ? exits : outcomes).push(event));
  return { server, path, next: outcomes.next, nextExit: exits.next };
}

test('a handshake arrives with its payload, its fds and the peer credentials; the peer exit follows', async () => {
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
  assert.equal(ev.watched, true);
  closeMessage(ev);
  const { code, out } = await peer.exited;
  assert.equal(code, 0, out);
  assert.deepEqual(await nextExit(), { kind: 'exited', connection: ev.connection, pid: peer.child.pid });
  server.close();
  assert.equal(existsSync(path), false);
  assert.equal(openFds(), before);
});

test('a handshake of exactly maxMessageBytes is delivered', async () => {
  const { server, path, next } = serve({ maxMessageBytes: 1024 });
  const peer = run([path, 'pipe', '1', 'z'.repeat(1024)]);
  const ev = await next();
  assert.equal(ev.kind, 'message');
  assert.equal(ev.payload.length, 1024);
  closeMessage(ev);
  assert.equal((await peer.exited).code, 0);
  server.close();
});

test('rejections: oversized, disconnected, silent, disallowed uid; their fds are closed', async () => {
  const before = openFds();
  const { server, path, next } = serve({ maxMessageBytes: 1024, handshakeTimeoutMs: 300 });

  const big = run([path, 'uffd', '3', 'y'.repeat(4000)]);
  let ev = await next();
  assert.equal(ev.kind, 'rejected');
  assert.equal(ev.code, 'ERR_FAULTLINE_SOCKET_TOO_LARGE');
  assert.equal(ev.message, 'the handshake message is larger than 1024 bytes');
  assert.equal(ev.pid, big.child.pid);
  const bigResult = await big.exited;
  assert.equal(bigResult.code, 0, bigResult.out); // the server closed the connection on it

  const gone = connect(path);
  await new Promise((r) => gone.on('connect', r));
  const goneClosed = new Promise((r) => gone.on('close', r));
  gone.end();
  ev = await next();
  assert.equal(ev.code, 'ERR_FAULTLINE_SOCKET_DISCONNECTED');
  assert.equal(ev.pid, process.pid);
  await goneClosed;

  const silent = connect(path);
  const closedByServer = new Promise((r) => silent.on('close', r));
  const t0 = Date.now();
  ev = await next();
  assert.equal(ev.code, 'ERR_FAULTLINE_SOCKET_TIMEOUT');
  assert.equal(ev.message, 'no handshake within 300 ms');
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
  assert.equal(ev.pid, denied.child.pid);
  assert.match(ev.message, /allowUids \/ --allow-uid/);
  assert.equal((await denied.exited).code, 0);
  strict.server.close();
  assert.equal(openFds(), before);

  const allowed = serve({ allowUids: [process.getuid() + 4242, process.getuid()] });
  const welcome = run([allowed.path, 'pipe', '1', 'ok']);
  ev = await allowed.next();
  assert.equal(ev.kind, 'message');
  closeMessage(ev);
  assert.equal((await welcome.exited).code, 0);
  allowed.server.close();
  assert.equal(openFds(), before);
});

test('handshakes racing a 1 ms timeout: each peer gets exactly one outcome, and no fd of a late message leaks', async () => {
  const before = openFds();
  const { server, path, next } = serve({ handshakeTimeoutMs: 1 });
  const peers = Array.from({ length: 16 }, (_, i) => run([path, 'uffd', '2', `racer-${i}`]));
  const byPid = new Map();
  for (let i = 0; i < peers.length; i++) {
    const ev = await next();
    assert.ok(ev.kind === 'message' || ev.code === 'ERR_FAULTLINE_SOCKET_TIMEOUT', JSON.stringify(ev));
    assert.equal(byPid.has(ev.pid), false, 'one outcome per peer');
    byPid.set(ev.pid, ev.kind);
    if (ev.kind === 'message') closeMessage(ev);
  }
  for (const p of peers) assert.equal((await p.exited).code, 0);
  assert.deepEqual([...byPid.keys()].sort(), peers.map((p) => p.child.pid).sort());
  await new Promise((r) => setTimeout(r, 50)); // anything still on its way arrives and is closed
  server.close();
  assert.equal(openFds(), before);
});

test('options are checked: bad options are coded errors naming what came, mechanism errors are Node-shaped', () => {
  const bad = (options, message) => assert.throws(() => new UnixServer(socketPath(), options, () => {}), { code: 'ERR_FAULTLINE_INVALID_ARGUMENT', message });
  bad({ maxMessageBytes: -1 }, 'options.maxMessageBytes must be an integer in [1, 16777216], got number -1');
  bad({ maxMessageBytes: (16 << 20) + 1 }, 'options.maxMessageBytes must be an integer in [1, 16777216], got number 16777217');
  bad({ handshakeTimeoutMs: '5' }, /^options\.handshakeTimeoutMs must be an integer in \[1, \d+\], got string '5'$/);
  bad({ handshakeTimeoutMs: 0 }, /^options\.handshakeTimeoutMs must be an integer in \[1, \d+\], got number 0$/);
  bad({ allowUids: 0 }, 'options.allowUids must be an array of uids, got number 0');
  bad({ allowUids: [-1] }, 'options.allowUids must hold non-negative integer uids, got number -1');
  bad({ backlog: 0 }, 'options.backlog must be an integer in [1, 4096], got number 0');
  bad({ mode: 0o1000 }, 'options.mode must be an integer in [0, 511], got number 512');
  assert.throws(() => new UnixServer(join(tmp.dir, 'x'.repeat(120)), {}, () => {}), { code: 'ENAMETOOLONG' });
});

test('unwatch(connection): its exit is never reported, and its pidfd is closed', async () => {
  const before = openFds();
  const exits = [];
  const messages = channel();
  const server = new UnixServer(socketPath(), {}, (ev) => (ev.kind === 'exited' ? exits.push(ev) : messages.push(ev)));
  const peer = run([server.path, 'pipe', '1', 'bye']);
  const m = await messages.next();
  server.unwatch(m.connection);
  closeMessage(m);
  assert.equal((await peer.exited).code, 0);
  await new Promise((r) => setTimeout(r, 100)); // an exit event would have arrived by now
  assert.deepEqual(exits, []);
  server.close();
  assert.equal(openFds(), before);
});

test('close() with a handshake pending: no timeout fires afterwards and its connection is closed', async () => {
  const before = openFds();
  const events = [];
  const path = socketPath();
  const server = new UnixServer(path, { handshakeTimeoutMs: 100 }, (ev) => events.push(ev));
  const waiting = connect(path);
  const closed = new Promise((r) => waiting.on('close', r));
  await new Promise((r) => waiting.on('connect', r));
  await new Promise((r) => setTimeout(r, 30)); // accepted, being read
  server.close();
  await closed;
  await new Promise((r) => setTimeout(r, 150));
  assert.deepEqual(events, [], 'nothing reported after close()');
  assert.equal(openFds(), before);
});

test('unref(): an idle server and its pending handshake timers do not keep the process alive', async () => {
  const script = `
    import { connect } from 'node:net';
    import { UnixServer } from ${JSON.stringify(new URL('../dist/ipc/unix-server.js', import.meta.url).href)};
    const server = new UnixServer(${JSON.stringify(socketPath())}, { handshakeTimeoutMs: 60000 }, () => {});
    const client = connect(server.path);
    client.on('connect', () => { setTimeout(() => { server.unref(); client.unref(); }, 50); });
  `;
  const { spawnSync } = await import('node:child_process');
  const t0 = Date.now();
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(child.status, 0, child.stderr);
  assert.ok(Date.now() - t0 < 10_000, 'the process exited without waiting for the 60 s handshake timeout');
});
