/**
 * A Unix socket server for handshakes that carry fds (SCM_RIGHTS), with every
 * peer rule in one place: which uids may connect, how long a peer has to send
 * its handshake, and how large that handshake may be. The native UnixServer
 * (packages/native/src/socket/) is the mechanism underneath: it accepts, reads
 * the peer's credentials, reads one message with its fds when told to and
 * within the byte budget given, watches the peer process, and drops a
 * connection when told to. It decides nothing.
 *
 * What a caller sees: one 'message' per accepted handshake (it owns the
 * socket and the fds from then on), one 'rejected' per peer turned away (its
 * fds already closed), an 'exited' when a peer whose handshake was delivered
 * exits, and 'error' for server-level trouble. Rejection codes:
 * ERR_FAULTLINE_SOCKET_PEER_REJECTED (uid not allowed; nothing was read from
 * it, so it could not hand us fds), ERR_FAULTLINE_SOCKET_PEER_UNKNOWN (no
 * credentials), ERR_FAULTLINE_SOCKET_TIMEOUT, ERR_FAULTLINE_SOCKET_TOO_LARGE,
 * ERR_FAULTLINE_SOCKET_DISCONNECTED, or an errno name when reading failed.
 */
import native from '@faultline/native';
import type {
  UnixServerConnection as NativeConnection,
  UnixServerEnded as NativeEnded,
  UnixServerEvent as NativeEvent,
  UnixServerError,
  UnixServerExit,
  UnixServerMessage,
  UnixServerPeer,
} from '@faultline/native';
import { invalidArgument } from '../errors.js';
import { closeAll, closeQuietly } from '../fds.js';
import { describeValue } from '../validate.js';

export type { UnixServerMessage, UnixServerExit, UnixServerError };

export interface UnixServerOptions {
  /** listen(2) backlog. Default 64. */
  backlog?: number;
  /** Mode of the socket file, applied atomically (the file never exists with another mode). Default 0o600. */
  mode?: number;
  /** Largest handshake accepted; a bigger one is rejected (ERR_FAULTLINE_SOCKET_TOO_LARGE). Default 65536, at most 16 MiB. */
  maxMessageBytes?: number;
  /** A connection that sends nothing for this long is rejected (ERR_FAULTLINE_SOCKET_TIMEOUT). Default 5000. */
  handshakeTimeoutMs?: number;
  /** Only peers with these uids (SO_PEERCRED) get read; others are rejected unread. Default (or empty): any uid. */
  allowUids?: number[];
}

/** A connection turned away before its handshake was delivered (its fds are already closed). Credentials: when SO_PEERCRED could be read. */
export interface UnixServerRejection extends UnixServerPeer {
  kind: 'rejected';
  connection: number;
  /** ERR_FAULTLINE_SOCKET_TOO_LARGE | _DISCONNECTED | _TIMEOUT | _PEER_REJECTED | _PEER_UNKNOWN, or an errno name (ECONNRESET). */
  code: string;
  message: string;
}

export type UnixServerEvent = UnixServerMessage | UnixServerExit | UnixServerRejection | UnixServerError;

interface Policy {
  maxMessageBytes: number;
  handshakeTimeoutMs: number;
  /** Empty: any uid. */
  allowUids: readonly number[];
}

const MAX_MESSAGE_BYTES = 16 << 20;
const MAX_HANDSHAKE_TIMEOUT_MS = 24 * 3600 * 1000;

/** A peer between accept and its delivered handshake. */
interface Handshake {
  credentials: UnixServerPeer;
  timer: NodeJS.Timeout;
}

export class UnixServer {
  readonly path: string;
  readonly #native: InstanceType<typeof native.UnixServer>;
  readonly #policy: Policy;
  readonly #onEvent: (event: UnixServerEvent) => void;
  readonly #handshakes = new Map<number, Handshake>();
  /** Connections whose peer's exit is reported. */
  readonly #watched = new Set<number>();
  #refed = true;
  #closed = false;

  /**
   * socket + bind + listen on `path` (which must not exist); every outcome is
   * reported to `onEvent` on this thread. Throws Node-shaped errors
   * (EADDRINUSE, ENAMETOOLONG...) and ERR_FAULTLINE_INVALID_ARGUMENT for bad options.
   */
  constructor(path: string, options: UnixServerOptions, onEvent: (event: UnixServerEvent) => void) {
    this.#policy = readPolicy(options ?? {});
    // The native server checks these too, but with bare TypeErrors: check them here first.
    if (options?.backlog !== undefined) integerOption(options, 'backlog', 1, 4096, 0);
    if (options?.mode !== undefined) integerOption(options, 'mode', 0, 0o777, 0);
    this.#onEvent = onEvent;
    const mechanism = {
      ...(options?.backlog !== undefined ? { backlog: options.backlog } : {}),
      ...(options?.mode !== undefined ? { mode: options.mode } : {}),
    };
    this.#native = new native.UnixServer(path, mechanism, (event) => this.#onNative(event));
    this.path = this.#native.path;
  }

  /**
   * Stops accepting, closes connections still in their handshake and removes
   * the socket file (if still ours). A handshake already read is still
   * delivered. Idempotent.
   */
  close(): void {
    this.#closed = true;
    for (const handshake of this.#handshakes.values()) clearTimeout(handshake.timer);
    this.#native.close();
  }

  /** Stop watching the peer of `connection` for its exit: no 'exited' event for it, its pidfd is closed. */
  unwatch(connection: number): void {
    this.#watched.delete(connection);
    this.#native.drop(connection);
  }

  /** Whether the open server (and its handshake timers) keep the event loop alive; default: they do. */
  ref(): this {
    this.#refed = true;
    this.#native.ref();
    for (const handshake of this.#handshakes.values()) handshake.timer.ref();
    return this;
  }

  unref(): this {
    this.#refed = false;
    this.#native.unref();
    for (const handshake of this.#handshakes.values()) handshake.timer.unref();
    return this;
  }

  #onNative(event: NativeEvent): void {
    switch (event.kind) {
      case 'connection':
        this.#admit(event);
        return;
      case 'message':
        this.#received(event);
        return;
      case 'ended':
        this.#ended(event);
        return;
      case 'exited':
        if (this.#watched.delete(event.connection)) this.#onEvent(event);
        return;
      case 'error':
        this.#onEvent(event);
        return;
    }
  }

  /** A peer connected: read its handshake, or turn it away unread. */
  #admit(c: NativeConnection): void {
    if (this.#closed) return; // the native server closed it already
    const credentials = credentialsOf(c);
    if (c.credentialsError !== undefined) {
      this.#native.drop(c.connection);
      this.#reject(c.connection, credentials, 'ERR_FAULTLINE_SOCKET_PEER_UNKNOWN',
        `could not read the peer's credentials (SO_PEERCRED): ${c.credentialsError.message}`);
      return;
    }
    const { allowUids } = this.#policy;
    if (allowUids.length > 0 && !allowUids.includes(c.uid!)) {
      this.#native.drop(c.connection);
      this.#reject(c.connection, credentials, 'ERR_FAULTLINE_SOCKET_PEER_REJECTED',
        `peer uid ${c.uid} (pid ${c.pid}) is not in the allowed uids; add it with allowUids / --allow-uid`);
      return;
    }
    const timer = setTimeout(() => this.#timedOut(c.connection), this.#policy.handshakeTimeoutMs);
    if (!this.#refed) timer.unref();
    this.#handshakes.set(c.connection, { credentials, timer });
    // One byte more than allowed, so an oversized handshake is detectable.
    this.#native.receive(c.connection, this.#policy.maxMessageBytes + 1);
  }

  #timedOut(connection: number): void {
    const handshake = this.#handshakes.get(connection);
    if (handshake === undefined) return;
    this.#handshakes.delete(connection);
    // A message already read and on its way finds no handshake: #received closes its fds.
    this.#native.drop(connection);
    this.#reject(connection, handshake.credentials, 'ERR_FAULTLINE_SOCKET_TIMEOUT',
      `no handshake within ${this.#policy.handshakeTimeoutMs} ms`);
  }

  #received(m: UnixServerMessage): void {
    const handshake = this.#handshakes.get(m.connection);
    if (handshake === undefined) {
      // Timed out while the message was on its way: the peer was told no already.
      this.#discard(m);
      return;
    }
    clearTimeout(handshake.timer);
    this.#handshakes.delete(m.connection);
    if (m.payload.length > this.#policy.maxMessageBytes) {
      this.#discard(m);
      this.#reject(m.connection, handshake.credentials, 'ERR_FAULTLINE_SOCKET_TOO_LARGE',
        `the handshake message is larger than ${this.#policy.maxMessageBytes} bytes`);
      return;
    }
    if (m.watched) this.#watched.add(m.connection);
    this.#onEvent(m);
  }

  #ended(e: NativeEnded): void {
    const handshake = this.#handshakes.get(e.connection);
    if (handshake === undefined) return;
    clearTimeout(handshake.timer);
    this.#handshakes.delete(e.connection);
    if (e.error === undefined) {
      this.#reject(e.connection, handshake.credentials, 'ERR_FAULTLINE_SOCKET_DISCONNECTED',
        'the peer closed the connection before sending its handshake');
    } else {
      this.#reject(e.connection, handshake.credentials, e.error.code, `reading the handshake failed: ${e.error.message}`);
    }
  }

  /** A message nobody will take: its fds and socket are closed, its peer no longer watched. */
  #discard(m: UnixServerMessage): void {
    closeAll(m.fds);
    closeQuietly(m.fd);
    this.#native.drop(m.connection);
  }

  #reject(connection: number, credentials: UnixServerPeer, code: string, message: string): void {
    this.#onEvent({ kind: 'rejected', connection, ...credentials, code, message });
  }
}

function credentialsOf(c: NativeConnection): UnixServerPeer {
  return c.pid === undefined ? {} : { pid: c.pid, uid: c.uid!, gid: c.gid! };
}

function readPolicy(o: UnixServerOptions): Policy {
  const allowUids = o.allowUids;
  if (allowUids !== undefined) {
    if (!Array.isArray(allowUids)) throw invalidArgument(`options.allowUids must be an array of uids, got ${describeValue(allowUids)}`);
    for (const uid of allowUids) {
      if (!Number.isInteger(uid) || uid < 0 || uid > 0xffffffff) {
        throw invalidArgument(`options.allowUids must hold non-negative integer uids, got ${describeValue(uid)}`);
      }
    }
  }
  return {
    maxMessageBytes: integerOption(o, 'maxMessageBytes', 1, MAX_MESSAGE_BYTES, 64 * 1024),
    handshakeTimeoutMs: integerOption(o, 'handshakeTimeoutMs', 1, MAX_HANDSHAKE_TIMEOUT_MS, 5000),
    allowUids: allowUids === undefined ? [] : [...allowUids],
  };
}

function integerOption(
  o: UnixServerOptions,
  name: 'maxMessageBytes' | 'handshakeTimeoutMs' | 'backlog' | 'mode',
  min: number,
  max: number,
  fallback: number,
): number {
  const v = o[name];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalidArgument(`options.${name} must be an integer in [${min}, ${max}], got ${describeValue(v)}`);
  }
  return v;
}
