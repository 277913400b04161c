/**
 * Faultline's errors. Every error a user can meet carries a stable `code`:
 * Node's errno names ('EINVAL', 'EPERM', ...) for failed system calls (the
 * native layer throws errors shaped like Node's own: `code`, `errno`,
 * `syscall`), and one of the `ERR_FAULTLINE_*` codes below for misuse and
 * policy outcomes. Messages name the problem and the fix.
 */

/** Every ERR_FAULTLINE_* code Faultline (core and native) produces. */
export const FAULTLINE_ERROR_CODES = [
  // ---- input
  /** An option or argument has the wrong type or range (the message names it and the fix). */
  'ERR_FAULTLINE_INVALID_ARGUMENT',
  /** A size or length is not a positive multiple of the page size. */
  'ERR_FAULTLINE_INVALID_SIZE',
  /** Resolver options cannot be structured-cloned to the workers. */
  'ERR_FAULTLINE_OPTIONS_NOT_CLONEABLE',
  // ---- lifecycle
  /** The FaultHandler (or server) is closed or closing. */
  'ERR_FAULTLINE_CLOSED',
  /** close() was called a second time. */
  'ERR_FAULTLINE_ALREADY_CLOSED',
  /** The worker threads did not start. */
  'ERR_FAULTLINE_WORKER_START',
  /** A worker thread died (a resolver exited it, an uncaught error); its faults were re-delivered and it is replaced. */
  'ERR_FAULTLINE_WORKER_DIED',
  /** A worker did not answer a control request (map, unmap, adopt) in time. */
  'ERR_FAULTLINE_CONTROL_TIMEOUT',
  /** close() could not answer every fault in its time; the report says how many. */
  'ERR_FAULTLINE_CLOSE_INCOMPLETE',
  /** The compiled addon could not be loaded (@faultline/native). */
  'ERR_FAULTLINE_NATIVE_NOT_BUILT',
  // ---- capacity and kernel support
  /** A uffd feature this program needs is not offered (kernel, privileges, or the peer's uffd). */
  'ERR_FAULTLINE_FEATURE_UNSUPPORTED',
  /** Too many regions or uffds at once. */
  'ERR_FAULTLINE_TABLE_FULL',
  // ---- resolvers (reported on 'error' as ResolverFailure, or thrown by map/adopt)
  /** A resolver module could not be loaded or its factory failed. */
  'ERR_FAULTLINE_RESOLVER_LOAD',
  /** A resolver module (or its factory) did not finish loading in time (resolverLoadTimeoutMs). */
  'ERR_FAULTLINE_RESOLVER_LOAD_TIMEOUT',
  /** A resolver did not answer a fault in time (resolveTimeoutMs); the region's policy was applied. */
  'ERR_FAULTLINE_RESOLVER_TIMEOUT',
  /** A resolver threw or rejected. */
  'ERR_FAULTLINE_RESOLVER_FAILED',
  /** A resolver returned something that is not a ResolveResult. */
  'ERR_FAULTLINE_RESOLVER_RESULT',
  /** The page could not be installed (an unexpected errno from the install ioctl). */
  'ERR_FAULTLINE_INSTALL_FAILED',
  /** A fault arrived for an address no served region covers. */
  'ERR_FAULTLINE_UNKNOWN_ADDRESS',
  // ---- resolvers.httpRange (thrown by its resolve(): the region's onError applies)
  /** The server answered with a status other than 206 Partial Content (5xx and 429 after the retries). */
  'ERR_FAULTLINE_HTTP_STATUS',
  /** A 206 answer does not match its request (Content-Range, length, short body), or the page lies past the end of the object. */
  'ERR_FAULTLINE_HTTP_RANGE',
  /** The request failed without a full answer (connection refused, reset or dropped mid-body), after the retries. */
  'ERR_FAULTLINE_HTTP_NETWORK',
  /** A request took longer than timeoutMs, after the retries. */
  'ERR_FAULTLINE_HTTP_TIMEOUT',
  // ---- uffds received from other processes
  /** The fd is not a userfaultfd. */
  'ERR_FAULTLINE_NOT_UFFD',
  /** adopt() was given a uffd this handler already serves (adopted and not closed, or its own). */
  'ERR_FAULTLINE_ALREADY_ADOPTED',
  /** A client sent no fd with its message. */
  'ERR_FAULTLINE_NO_FD',
  /** The uffd has not been through UFFDIO_API. */
  'ERR_FAULTLINE_UFFD_NOT_READY',
  /** A forked child's uffd could not be served (no uffd id left); it was closed. */
  'ERR_FAULTLINE_FORK_UNSERVED',
  // ---- the ring and the reader (native)
  /** A buffer is not a fault ring (bad magic, version, capacity or size). */
  'ERR_FAULTLINE_RING_INVALID',
  /** The ring is closed: nothing more can be pushed. */
  'ERR_FAULTLINE_RING_CLOSED',
  /** A ring record breaks the message format. */
  'ERR_FAULTLINE_RING_CORRUPT',
  /** The reader thread is stopped. */
  'ERR_FAULTLINE_READER_STOPPED',
  /** A uffd table slot was not claimed for the fd given to the reader. */
  'ERR_FAULTLINE_UFFD_NOT_CLAIMED',
  /** The fd is already in the uffd table. */
  'ERR_FAULTLINE_UFFD_ALREADY_ADDED',
  /** Every uffd table slot is taken. */
  'ERR_FAULTLINE_UFFD_TABLE_FULL',
  // ---- Unix socket servers (peers handing over uffds)
  /** The socket file got a more permissive mode than asked. */
  'ERR_FAULTLINE_SOCKET_MODE',
  /** The peer's credentials could not be read. */
  'ERR_FAULTLINE_SOCKET_PEER_UNKNOWN',
  /** The peer's uid is not allowed. */
  'ERR_FAULTLINE_SOCKET_PEER_REJECTED',
  /** The peer sent no handshake in time. */
  'ERR_FAULTLINE_SOCKET_TIMEOUT',
  /** The handshake message is larger than allowed. */
  'ERR_FAULTLINE_SOCKET_TOO_LARGE',
  /** The peer disconnected before its handshake. */
  'ERR_FAULTLINE_SOCKET_DISCONNECTED',
  // ---- record and prefetch
  /** A file given to readTrace() is not a (readable, this-version) trace file. */
  'ERR_FAULTLINE_TRACE_FORMAT',
  /** The pages a trace lists are not in the memory file (writeTrace with memFile), or a prefetch's page data is cut short. */
  'ERR_FAULTLINE_TRACE_DATA',
  /** region.trace() on a region mapped without `record: true`. */
  'ERR_FAULTLINE_NOT_RECORDING',
  /** region.dirtyPages() / trackWrites() on a region mapped without `trackWrites: true`. */
  'ERR_FAULTLINE_NOT_TRACKING',
  /** Eviction could not write pages back (the resolver's write() failed): they stayed in memory. */
  'ERR_FAULTLINE_WRITEBACK_FAILED',
  // ---- Firecracker handshakes
  /** The handshake is not JSON. */
  'ERR_FAULTLINE_FC_BAD_JSON',
  /** The handshake JSON is not a list of GuestRegionUffdMapping. */
  'ERR_FAULTLINE_FC_BAD_SHAPE',
  /** A region's page size is not one this handler serves. */
  'ERR_FAULTLINE_FC_PAGE_SIZE',
  /** A region lies outside the memory file. */
  'ERR_FAULTLINE_FC_OUT_OF_FILE',
  /** The handshake is too large (bytes or regions). */
  'ERR_FAULTLINE_FC_TOO_LARGE',
  /** The handshake came without a uffd. */
  'ERR_FAULTLINE_FC_NO_FD',
  /** The fd that came with the handshake is not a uffd. */
  'ERR_FAULTLINE_FC_NOT_UFFD',
  /** More fds came than the handshake allows. */
  'ERR_FAULTLINE_FC_EXTRA_FDS',
  /** Serving a Firecracker client failed for another reason. */
  'ERR_FAULTLINE_FC',
] as const;

/**
 * A stable error code: one of FAULTLINE_ERROR_CODES, or an errno name such
 * as 'ENOENT' (from a failed system call, or thrown by a resolver).
 */
export type FaultlineErrorCode = (typeof FAULTLINE_ERROR_CODES)[number] | (string & {});

export class FaultlineError extends Error {
  readonly code: FaultlineErrorCode;
  constructor(code: FaultlineErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FaultlineError';
    this.code = code;
  }
}

/** ERR_FAULTLINE_INVALID_ARGUMENT with `message` (which names the argument and the fix). */
export function invalidArgument(message: string): FaultlineError {
  return new FaultlineError('ERR_FAULTLINE_INVALID_ARGUMENT', message);
}

/** The `code` of anything thrown, or `fallback` when it has none. */
export function codeOf(err: unknown, fallback: FaultlineErrorCode): FaultlineErrorCode {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : fallback;
}
