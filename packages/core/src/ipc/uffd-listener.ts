/**
 * Receiving uffds from other processes: a Unix socket server whose clients
 * send one message with their uffd attached (SCM_RIGHTS), which Node's `net`
 * cannot receive. UnixServer (unix-server.ts) applies the peer rules; this
 * picks the uffd out of each handshake for FaultHandler.adopt().
 */
import native from '@faultline/native';
import { closeQuietly } from '../fds.js';
import { checkOptions, optionNames } from '../validate.js';
import { UnixServer } from './unix-server.js';

export interface UffdConnection {
  /** Peer credentials (SO_PEERCRED). */
  pid: number;
  uid: number;
  gid: number;
  /** What the client sent with its uffd (e.g. JSON describing its regions). */
  payload: Buffer;
  /** The client's uffd, now an fd of this process: pass it to handler.adopt() or close it. */
  uffd: number;
  /** The connected socket, still open (reply on it, or close()). */
  socketFd: number;
  /** Closes the socket (not the uffd). */
  close(): void;
}

export interface UffdListenerOptions {
  /** Socket file mode. Default 0o600. */
  mode?: number;
  /** Only accept peers with these uids (SO_PEERCRED). */
  allowUids?: number[];
  maxMessageBytes?: number;
  handshakeTimeoutMs?: number;
}

const LISTENER_OPTION_KEYS = optionNames<UffdListenerOptions>()('mode', 'allowUids', 'maxMessageBytes', 'handshakeTimeoutMs');

export interface UffdListener {
  readonly path: string;
  close(): void;
}

/**
 * Listens on `path`; calls `onUffd` for every client that sent a message with
 * a userfaultfd attached, and `onReject` (if given) for every other client
 * (no fd, not a uffd, too large, timed out...), whose fds are closed for it.
 */
export function listenForUffds(
  path: string,
  options: UffdListenerOptions,
  onUffd: (connection: UffdConnection) => void,
  onReject?: (reason: { code: string; message: string; pid?: number }) => void,
): UffdListener {
  checkOptions('listenForUffds()', options ?? {}, LISTENER_OPTION_KEYS);
  const server = new UnixServer(path, { mode: 0o600, ...options }, (event) => {
    if (event.kind !== 'message') {
      if (event.kind === 'rejected' || event.kind === 'error') onReject?.({ code: event.code, message: event.message, ...('pid' in event && event.pid !== undefined ? { pid: event.pid } : {}) });
      return;
    }
    const uffdIndex = event.fds.findIndex((fd) => safeIsUffd(fd));
    for (const [i, fd] of event.fds.entries()) if (i !== uffdIndex) closeQuietly(fd);
    if (uffdIndex < 0) {
      closeQuietly(event.fd);
      onReject?.({
        code: event.fds.length === 0 ? 'ERR_FAULTLINE_NO_FD' : 'ERR_FAULTLINE_NOT_UFFD',
        message:
          event.fds.length === 0
            ? 'the client sent no fd: attach its userfaultfd to the message (SCM_RIGHTS)'
            : 'none of the fds the client sent is a userfaultfd',
        pid: event.pid,
      });
      return;
    }
    onUffd({
      pid: event.pid,
      uid: event.uid,
      gid: event.gid,
      payload: event.payload,
      uffd: event.fds[uffdIndex]!,
      socketFd: event.fd,
      close: () => closeQuietly(event.fd),
    });
  });
  return { path, close: () => server.close() };
}

function safeIsUffd(fd: number): boolean {
  try {
    return native.isUserfaultfd(fd);
  } catch {
    return false;
  }
}
