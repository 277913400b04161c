/**
 * @faultline/native — the mechanical layer: raw userfaultfd fds and ioctls,
 * mappings, futexes, the reader thread. No policy lives here.
 *
 * Conventions
 * - Addresses and lengths are JS numbers (user addresses are < 2^53).
 * - Hot-path install calls never throw for kernel outcomes: they return the
 *   number of bytes done (=== len on success, 0 < n < len on partial progress)
 *   or a negative errno (-EEXIST, -EAGAIN, -ENOENT, -ESRCH, ...) when nothing was
 *   done. `@faultline/core` turns those into coded errors where they are errors.
 * - Setup calls (create, api, register, mmap...) throw Node-shaped errors:
 *   `{ code: 'EINVAL', errno: -22, syscall: 'ioctl(UFFDIO_API)' }` with a hint.
 * - Bad arguments throw TypeError.
 */

/** Kernel constants (include/uapi/linux/userfaultfd.h and friends). */
export declare const constants: {
  readonly UFFD_API: number;
  readonly UFFD_USER_MODE_ONLY: number;
  // UFFDIO_API feature bits
  readonly UFFD_FEATURE_PAGEFAULT_FLAG_WP: number;
  readonly UFFD_FEATURE_EVENT_FORK: number;
  readonly UFFD_FEATURE_EVENT_REMAP: number;
  readonly UFFD_FEATURE_EVENT_REMOVE: number;
  readonly UFFD_FEATURE_MISSING_HUGETLBFS: number;
  readonly UFFD_FEATURE_MISSING_SHMEM: number;
  readonly UFFD_FEATURE_EVENT_UNMAP: number;
  readonly UFFD_FEATURE_SIGBUS: number;
  readonly UFFD_FEATURE_THREAD_ID: number;
  readonly UFFD_FEATURE_MINOR_HUGETLBFS: number;
  readonly UFFD_FEATURE_MINOR_SHMEM: number;
  readonly UFFD_FEATURE_EXACT_ADDRESS: number;
  readonly UFFD_FEATURE_WP_HUGETLBFS_SHMEM: number;
  readonly UFFD_FEATURE_WP_UNPOPULATED: number;
  readonly UFFD_FEATURE_POISON: number;
  readonly UFFD_FEATURE_WP_ASYNC: number;
  readonly UFFD_FEATURE_MOVE: number;
  // register modes
  readonly UFFDIO_REGISTER_MODE_MISSING: number;
  readonly UFFDIO_REGISTER_MODE_WP: number;
  readonly UFFDIO_REGISTER_MODE_MINOR: number;
  // fill modes
  readonly UFFDIO_COPY_MODE_DONTWAKE: number;
  readonly UFFDIO_COPY_MODE_WP: number;
  readonly UFFDIO_ZEROPAGE_MODE_DONTWAKE: number;
  readonly UFFDIO_WRITEPROTECT_MODE_WP: number;
  readonly UFFDIO_WRITEPROTECT_MODE_DONTWAKE: number;
  readonly UFFDIO_CONTINUE_MODE_DONTWAKE: number;
  readonly UFFDIO_CONTINUE_MODE_WP: number;
  readonly UFFDIO_POISON_MODE_DONTWAKE: number;
  readonly UFFDIO_MOVE_MODE_DONTWAKE: number;
  readonly UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES: number;
  // bits of the `ioctls` masks returned by api/register (1 << _UFFDIO_X)
  readonly UFFDIO_IOCTL_REGISTER: number;
  readonly UFFDIO_IOCTL_UNREGISTER: number;
  readonly UFFDIO_IOCTL_API: number;
  readonly UFFDIO_IOCTL_WAKE: number;
  readonly UFFDIO_IOCTL_COPY: number;
  readonly UFFDIO_IOCTL_ZEROPAGE: number;
  readonly UFFDIO_IOCTL_MOVE: number;
  readonly UFFDIO_IOCTL_WRITEPROTECT: number;
  readonly UFFDIO_IOCTL_CONTINUE: number;
  readonly UFFDIO_IOCTL_POISON: number;
  // uffd_msg.event
  readonly UFFD_EVENT_PAGEFAULT: number;
  readonly UFFD_EVENT_FORK: number;
  readonly UFFD_EVENT_REMAP: number;
  readonly UFFD_EVENT_REMOVE: number;
  readonly UFFD_EVENT_UNMAP: number;
  // uffd_msg.arg.pagefault.flags
  readonly UFFD_PAGEFAULT_FLAG_WRITE: number;
  readonly UFFD_PAGEFAULT_FLAG_WP: number;
  readonly UFFD_PAGEFAULT_FLAG_MINOR: number;
  // madvise / mremap
  readonly MADV_DONTNEED: number;
  readonly MADV_REMOVE: number;
  readonly MADV_HUGEPAGE: number;
  readonly MREMAP_MAYMOVE: number;
  readonly MREMAP_FIXED: number;
  readonly MREMAP_DONTUNMAP: number;
  // errno values used on the fault path (positive)
  readonly EEXIST: number;
  readonly EAGAIN: number;
  readonly ENOENT: number;
  readonly ESRCH: number;
  readonly EINVAL: number;
  readonly EFAULT: number;
  readonly ENOMEM: number;
  readonly EPERM: number;
};

// ---------------------------------------------------------------- uffd.cc

export interface UffdCreateOptions {
  /** Pass UFFD_USER_MODE_ONLY: works unprivileged, but kernel-mode accesses to registered memory fail with EFAULT. Default false. */
  userModeOnly?: boolean;
  /** O_NONBLOCK (needed for poll/epoll). Default true. O_CLOEXEC is always set. */
  nonBlocking?: boolean;
}
/**
 * Opens a userfaultfd: the userfaultfd(2) syscall, falling back to
 * /dev/userfaultfd + USERFAULTFD_IOC_NEW when the syscall is refused (EPERM).
 * Throws with a hint about vm.unprivileged_userfaultfd / /dev/userfaultfd access.
 */
export declare function uffdCreate(options?: UffdCreateOptions): number;
/**
 * UFFDIO_API handshake asking for `features` (once per fd: a second call is EINVAL).
 * Returns what the kernel granted: `features` enabled on this fd (the requested bits;
 * WP_ASYNC implies WP_UNPOPULATED) and the fd-level `ioctls` mask (REGISTER|UNREGISTER;
 * the kernel's bit 63 for UFFDIO_API itself is left out of every mask: a JS number
 * cannot hold it next to low bits, and a completed handshake implies it).
 * Throws `code: 'EINVAL'` with the unsupported bits named (and the kernel release),
 * or explaining the once-per-fd rule; `code: 'EPERM'` for EVENT_FORK without CAP_SYS_PTRACE.
 */
export declare function uffdApi(fd: number, features: number): { features: number; ioctls: number };
/** Features and ioctls the kernel offers, probed on a throwaway fd (closed before returning). */
export declare function uffdProbe(options?: UffdCreateOptions): { features: number; ioctls: number };
/** UFFDIO_REGISTER; `mode` is a mask of UFFDIO_REGISTER_MODE_*. Returns the allowed ioctls mask. */
export declare function uffdRegister(fd: number, address: number, length: number, mode: number): number;
/** UFFDIO_UNREGISTER (wakes threads parked in the range; they retry as ordinary faults). */
export declare function uffdUnregister(fd: number, address: number, length: number): void;
/**
 * UFFDIO_COPY from `src` (any typed array / DataView; no intermediate copy:
 * the kernel reads the view's memory directly) starting at byte `srcOffset`.
 * Returns bytes copied or -errno (see conventions).
 */
export declare function uffdCopy(fd: number, dst: number, src: ArrayBufferView, srcOffset: number, length: number, mode: number): number;
/** UFFDIO_COPY from a raw source address (a mapping of ours). Returns bytes copied or -errno. */
export declare function uffdCopyFrom(fd: number, dst: number, srcAddress: number, length: number, mode: number): number;
/** UFFDIO_ZEROPAGE. Returns bytes zeroed or -errno. */
export declare function uffdZeropage(fd: number, address: number, length: number, mode: number): number;
/** UFFDIO_WAKE. Returns 0 or -errno. */
export declare function uffdWake(fd: number, address: number, length: number): number;
/** UFFDIO_WRITEPROTECT (mode WP sets protection, 0 clears it and wakes). Returns 0 or -errno. */
export declare function uffdWriteprotect(fd: number, address: number, length: number, mode: number): number;
/** UFFDIO_CONTINUE (minor faults). Returns bytes mapped or -errno. */
export declare function uffdContinue(fd: number, address: number, length: number, mode: number): number;
/** UFFDIO_POISON: later accesses raise SIGBUS. Returns bytes poisoned or -errno. */
export declare function uffdPoison(fd: number, address: number, length: number, mode: number): number;
/** UFFDIO_MOVE (same process only). Returns bytes moved or -errno. */
export declare function uffdMove(fd: number, dst: number, src: number, length: number, mode: number): number;
/**
 * Reads pending uffd_msg records with one read(2) (non-blocking fd): fills `out`
 * (32 bytes per message, the kernel's layout) and returns the number of messages,
 * 0 when none is pending (EAGAIN). Throws on other errors.
 */
export declare function uffdRead(fd: number, out: Uint8Array): number;
/** close(2). Throws on EBADF. */
export declare function closeFd(fd: number): void;
/** True when `fd` is a userfaultfd (its /proc/self/fd link is "anon_inode:[userfaultfd]"). Works on fds received from other processes. Throws EBADF for a closed fd. */
export declare function isUserfaultfd(fd: number): boolean;

// ---------------------------------------------------------------- memory.cc

export interface Mapping {
  /**
   * The mapping as a SharedArrayBuffer: post it to any worker, view it with any
   * typed array. The memory is unmapped when every SharedArrayBuffer over it has
   * been garbage collected (never earlier, so no view can dangle).
   */
  buffer: SharedArrayBuffer;
  /** Start address. */
  address: number;
  /** Length in bytes (a multiple of the page size). */
  length: number;
}
/** The system page size (4096 here). */
export declare function pageSize(): number;
/** mmap(PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, or MAP_SHARED with `shared`). */
/** Anonymous memory as a SharedArrayBuffer; with hugePageSize, hugetlbfs pages of that size (reserved by root first). */
export declare function mapAnonymous(length: number, options?: { shared?: boolean; hugePageSize?: number }): Mapping;
/** memfd_create(name, MFD_CLOEXEC) + ftruncate(length). Returns the fd. */
export declare function memfdCreate(name: string, length: number): number;
/** mmap of an fd (MAP_SHARED by default; `private` for MAP_PRIVATE), at `offset`. With `readOnly`, writing through the buffer crashes the process (SIGSEGV): only read it. */
export declare function mapFd(fd: number, length: number, offset: number, options?: { private?: boolean; readOnly?: boolean }): Mapping;
/** madvise(2). Throws on error. */
export declare function madvise(address: number, length: number, advice: number): void;
/** mremap(2); returns the new address. Raw: the caller owns the consequences. */
export declare function mremap(oldAddress: number, oldLength: number, newLength: number, flags: number, newAddress?: number): number;
/** munmap(2). Raw: a SharedArrayBuffer over the range must never be touched again. */
export declare function munmap(address: number, length: number): void;
/** Address of the first byte of a typed array / DataView (its byteOffset included). */
export declare function viewAddress(view: ArrayBufferView): number;
/** gettid(2) of the calling thread. */
export declare function gettid(): number;

// ---------------------------------------------------------------- futex.cc

/**
 * FUTEX_WAIT_PRIVATE on `array[index]` while it equals `expected`, at most
 * `timeoutMs` (Infinity: no limit). Returns 0 when woken, 1 when the value
 * differed, 2 on timeout (EINTR counts as woken). Blocks the calling thread:
 * call it from workers, never from the main thread on the fault path.
 * Needed because a native FUTEX_WAKE does not wake JS Atomics.wait.
 */
export declare function futexWait(array: Int32Array, index: number, expected: number, timeoutMs: number): 0 | 1 | 2;
/** FUTEX_WAKE_PRIVATE: wakes up to `count` waiters on `array[index]`; returns how many woke. */
export declare function futexWake(array: Int32Array, index: number, count: number): number;

// ---------------------------------------------------------------- reader/ (reader_engine.cc, reader_binding.cc)

export interface ReaderStats {
  /** uffd_msg records read from the kernel. */
  messages: number;
  /** read(2) calls that returned at least one message. */
  reads: number;
  /** Times the ring was full and the reader waited for space (it never drops). */
  stalls: number;
  /** Consumer wake-ups issued (futex wake calls). */
  wakeups: number;
  /** uffds dropped from the watch list: EPOLLERR (blocking fd, no UFFDIO_API), or a read(2) error other than EAGAIN. */
  hangups: number;
  /** Messages with an event code the ring format does not know (skipped). */
  unknownEvents: number;
  /**
   * FORK children that could not be served because the uffd table was full. Each was published as a FORK
   * record flagged UNSERVED (0x01) whose arg is the child uffd's fd, left open for the consumer to close.
   */
  forksRefused: number;
}
/**
 * The reader thread of one FaultHandler: epoll over every uffd added, reads
 * many uffd_msg per read(2), encodes them as ring records (docs/ring.md),
 * publishes and wakes parked consumers. On a FORK event it adds the child's
 * uffd itself (new id announced in the FORK record); with no id free it hands
 * the child's fd to the consumer instead (flag UNSERVED, docs/ring.md §2).
 */
export declare class Reader {
  /**
   * `ring`: Int32Array over the ring SAB; `uffdTable`: Int32Array over the uffd table SAB (fd per uffd id, -1 when free).
   * `options.kickFd`: the direct poll set's kick eventfd; after publishing, the reader kicks it when ring word 50
   * (pollers) says workers are parked there instead of on the ring's futex.
   */
  constructor(ring: Int32Array, uffdTable: Int32Array, options?: { kickFd?: number });
  /**
   * Starts serving `fd` (sets O_NONBLOCK on it if missing: epoll needs it).
   * With `id`: a slot of the uffd table the caller already claimed
   * (Atomics.compareExchange(table, id, -1, fd)), so it could describe the
   * uffd's regions before the first fault is read. Without: the first free slot
   * is claimed. Returns the uffd id. Throws ERR_FAULTLINE_UFFD_NOT_CLAIMED (table[id]
   * is not fd), ERR_FAULTLINE_UFFD_ALREADY_ADDED, ERR_FAULTLINE_UFFD_TABLE_FULL,
   * ERR_FAULTLINE_READER_STOPPED, or EBADF.
   */
  add(fd: number, id?: number): number;
  /**
   * Stops watching uffd `id`; returns once the reader thread will not read it
   * again, so the caller may close it. Does not close the fd and does not free
   * the table entry: whoever closes the fd stores -1 there (Atomics.store).
   */
  remove(id: number): void;
  /** True while no uffd has a pending message and the reader holds none (for a draining close). */
  idle(): boolean;
  stats(): ReaderStats;
  /** Stops and joins the thread (closes its epoll/eventfd, never the uffds). Idempotent. Also run by the environment's cleanup hook. */
  stop(): void;
}

// ---------------------------------------------------------------- socket/
// Unix stream sockets for handshakes that carry fds (SCM_RIGHTS), which Node's
// `net` cannot receive. Mechanism only: who may connect, how long a handshake
// may take and how large it may be are decided by the caller, from these
// events. @faultline/core's UnixServer (core/src/ipc/unix-server.ts) is that
// caller; use it rather than this class.

export interface UnixServerOptions {
  /** listen(2) backlog. Default 64. */
  backlog?: number;
  /** Mode of the socket file, applied atomically (the file never exists with another mode). Default 0o600. */
  mode?: number;
}

/** An errno as `{ code: 'ECONNRESET', message: 'Connection reset by peer' }`. */
export interface UnixServerErrno {
  code: string;
  message: string;
}

/** Peer credentials (SO_PEERCRED) at connect time; absent when they could not be read. */
export interface UnixServerPeer {
  pid?: number;
  uid?: number;
  gid?: number;
}

/**
 * A connection was accepted; nothing has been read from it. Answer with
 * receive(connection, maxBytes) or drop(connection).
 */
export interface UnixServerConnection extends UnixServerPeer {
  kind: 'connection';
  /** Per-server connection number, from 1. */
  connection: number;
  /** Why SO_PEERCRED failed, when it did (then no exit can be watched either). */
  credentialsError?: UnixServerErrno;
}

/** A connection's message (after receive()) and the fds attached to it. */
export interface UnixServerMessage {
  kind: 'message';
  connection: number;
  pid: number;
  uid: number;
  gid: number;
  /** The connected socket. Owned by the receiver: close it (fs.closeSync) or wrap it (new net.Socket({ fd })). */
  fd: number;
  /** The message bytes: at most the maxBytes given to receive() (anything beyond stays unread in the socket). */
  payload: Buffer;
  /** Received fds (O_CLOEXEC), in order. Owned by the receiver: close every one it does not keep. */
  fds: number[];
  /** The peer attached more fds than fit (16): the kernel closed the rest. */
  fdsTruncated: boolean;
  /** The peer had already closed the connection right behind the message. */
  peerClosed: boolean;
  /** An 'exited' event follows when the peer process exits, unless dropped (false only where no pidfd could be had). */
  watched: boolean;
}
/** The connection ended before a message arrived: the peer closed it (no `error`), or reading failed. The server closed it. */
export interface UnixServerEnded extends UnixServerPeer {
  kind: 'ended';
  connection: number;
  error?: UnixServerErrno;
}
/** The process behind a delivered message exited (seen through a pidfd, not the socket). */
export interface UnixServerExit {
  kind: 'exited';
  connection: number;
  pid: number;
}
/** A server-level problem (accept4 failing with EMFILE...). The server keeps running unless the message says otherwise. */
export interface UnixServerError {
  kind: 'error';
  connection: number;
  code: string;
  message: string;
}
export type UnixServerEvent = UnixServerConnection | UnixServerMessage | UnixServerEnded | UnixServerExit | UnixServerError;

/**
 * socket + bind + listen on `path` (which must not exist), then a native thread
 * accepts connections, reads the message of each one the caller asks it to,
 * and watches the process of each peer whose message was delivered, reporting
 * every step to `onEvent` on this thread. The JS thread never blocks. Throws
 * Node-shaped errors (EADDRINUSE, ENAMETOOLONG...) from the constructor, and a
 * TypeError for policy options (allowUids, handshakeTimeoutMs, maxMessageBytes).
 */
export declare class UnixServer {
  constructor(path: string, options: UnixServerOptions, onEvent: (event: UnixServerEvent) => void);
  readonly path: string;
  /** Read `connection`'s message, at most `maxBytes` (1..64 MiB) bytes of it. Ignored for a connection already being read, delivered, ended or dropped. */
  receive(connection: number, maxBytes: number): void;
  /**
   * Forget `connection`: closes what the server still holds of it (its socket while
   * no message was delivered, its pidfd); the server makes no event for it after
   * that (one already on its way to `onEvent` still arrives). Ignored for a
   * connection the server no longer holds.
   */
  drop(connection: number): void;
  /** Stops the thread, closes every connection it holds and removes the socket file (if still ours). Idempotent. */
  close(): void;
  /** Whether the open server keeps the event loop alive (default: it does). */
  ref(): this;
  unref(): this;
}

// ---------------------------------------------------------------- serve/fault_waiter.cc, serve/doorbell.cc
export interface FaultWaiterOptions {
  /** The control block's words (core's shared/control-block.ts; native serve/control_words.h). */
  control: Int32Array;
  /** The uffd table: fd per uffd id, -1 when free. */
  uffdTable: Int32Array;
  /** This worker's index (0..63). */
  worker: number;
  /** uffd id of the handler's own uffd. */
  ownUffdId: number;
  /** The serve set (serveSetCreate) the leader waits on in epoll mode. */
  epollFd: number;
  kickFd: number;
  /** Address of the doorbell page registered on the own uffd (0: none). */
  doorbell: number;
  pageSize: number;
  /** Longest spin before the leader sleeps, microseconds (0: never spin). */
  maxSpinUs: number;
  /** Longest sleep of a follower, or of the leader in epoll mode, ms. */
  parkMs: number;
  /**
   * The region table (core's shared/region-table.ts layout; native
   * serve/region_table.h) and the region counters. The waiter reads the table
   * to wake every served range when it finds a dead worker, and, with
   * nativeResolvers, to serve faults of regions whose entry names a built-in
   * resolver itself (counted in these counters).
   */
  regionTable: Uint8Array;
  regionStats: Int32Array;
  nativeResolvers: boolean;
  /** The fault trace (core shared/fault-trace.ts) recording regions' first touches are appended to. */
  faultTrace?: Int32Array;
  /** Date.now() at the handler's creation: trace times are microseconds since it. */
  epochMs?: number;
}

/**
 * Where a serve loop waits for faults: one leader at a time reads the uffds
 * (spinning, then sleeping in read(2) or epoll_wait(2)), the other workers
 * sleep until it hands over. See serve/fault_waiter.cc.
 */
export declare class FaultWaiter {
  constructor(options: FaultWaiterOptions);
  /**
   * Waits for faults: > 0 ring records written into `records` (room for at
   * least 16), 0 to look around (the control seq differs from `seenSeq`, or
   * nothing came and `mayPark` is false), -1 once the handler is closing.
   * Sets this worker's busy word when it returns records.
   */
  wait(records: Uint32Array, seenSeq: number, mayPark: boolean): number;
  /** Gives up the lead (if held) and wakes one sleeping worker to take it. */
  release(): void;
}

/**
 * Wakes a leader asleep in read(2) on the own uffd: register `address` (one
 * page, MISSING) with the uffd; ring() has a native thread touch it.
 */
export declare class Doorbell {
  constructor();
  readonly address: number;
  /** Rings answered so far. */
  readonly rings: number;
  ring(): void;
  /** Ends the bell thread; call after the uffd is closed. */
  stop(): void;
}

/** The epoll set (with its kick eventfd) a leader waits on in epoll mode. */
export declare function serveSetCreate(): { epollFd: number; kickFd: number };
/** Adds a non-blocking uffd to the set under its uffd id. */
export declare function serveSetAdd(epollFd: number, uffd: number, uffdId: number): void;
/** Removes a uffd from the set (not in it: no error). */
export declare function serveSetRemove(epollFd: number, uffd: number): void;
/** Wakes a leader asleep in epoll_wait on the set. */
export declare function serveSetKick(kickFd: number): void;
/** Clears (true) or sets (false) O_NONBLOCK on the open file behind `fd`. */
export declare function setBlocking(fd: number, blocking: boolean): void;
/**
 * True when preadv2(RWF_NOWAIT) reads this blocking uffd without sleeping
 * (Linux 6.9+). Call before anything is registered: a pending message would be consumed.
 */
export declare function readNoWaitSupported(fd: number): boolean;

// ---------------------------------------------------------------- diagnostics.cc
/** Writes `text` to fd 2 with write(2), synchronously (worker threads' process.stderr is not). */
export declare function writeStderr(text: string): void;

// ---------------------------------------------------------------- pattern.cc
/**
 * Writes the `pattern` resolver's content: 32-bit word i of `view` becomes
 * patternWord(seed, firstWord + i) (pattern_word.h; core's pattern-bytes.ts is
 * the reference). `view` must cover whole, 4-aligned words.
 */
export declare function fillPattern(view: ArrayBufferView, seed: number, firstWord: number): void;

/**
 * PAGEMAP_SCAN on `pagemapFd` (/proc/self/pagemap): the ranges of
 * [start, end) written since they were last write-protected, as [start, end)
 * pairs in address order. The range must be registered for write protection
 * on a uffd with UFFD_FEATURE_WP_ASYNC. `reset`: protect them again in the
 * same walk (read and clear at once). Linux 6.7+.
 */
export declare function pagemapScanWritten(pagemapFd: number, start: number, end: number, reset?: boolean): Float64Array;
/** PAGEMAP_SCAN on `pagemapFd`: the ranges of [start, end) with a page mapped (resident), as [start, end) pairs. Linux 6.7+. */
export declare function pagemapScanPresent(pagemapFd: number, start: number, end: number): Float64Array;
/**
 * Installs `count` pages whose bytes lie one after another in `src` (from
 * `srcOffset`) at the addresses `dsts[0..count)` (0: skip), one UFFDIO_COPY
 * per run of consecutive addresses. out[i]: 1 installed, 0 already there
 * (EEXIST) or skipped, -errno failed. Returns the pages installed.
 */
export declare function uffdCopyPages(
  fd: number,
  dsts: Float64Array,
  count: number,
  src: ArrayBufferView,
  srcOffset: number,
  pageSize: number,
  mode: number,
  out: Int32Array,
): number;

export interface PrefetchPagesOptions {
  fd: number;
  uffdId: number;
  regionId: number;
  /** Address of the region's page 0, and the resolver offset it stands for. */
  address: number;
  offset: number;
  pageSize: number;
  /** UFFDIO_COPY mode (UFFDIO_COPY_MODE_WP for write-tracked regions). */
  mode: number;
  /** Page indexes, in the order to install them; their bytes lie one after another in dataFd from dataOffset. */
  pages: Uint32Array;
  dataFd: number;
  dataOffset: number;
  /** The region table (core shared/region-table.ts): each page must still be this region's. */
  regionTable: Uint8Array;
  /** Word 0 set to 1 (Atomics.store) stops it. At least 4 bytes. */
  cancel: Int32Array;
}
export interface PrefetchPagesResult {
  installed: number;
  /** Of `installed`: pages demand faults installed from the plan after their own page (the window of the plan after it). */
  installedOnFaults: number;
  alreadyPresent: number;
  cancelled: number;
  failed: number;
  ms: number;
  /** errno of the first failure, 0 if none. */
  errno: number;
}
/** Installs a working set from a trace file's page data on a native thread (see serve/prefetcher.cc). */
export declare function prefetchPages(options: PrefetchPagesOptions): Promise<PrefetchPagesResult>;

// ---------------------------------------------------------------- evict/evictor_binding.cc
export interface NativeEvictorOptions {
  /** The uffd the region is registered on (its own process: UFFDIO_MOVE moves within it). */
  uffdFd: number;
  address: number;
  size: number;
  pageSize: number;
  /** Evict when more pages than this are resident, down to targetPages. */
  maxPages: number;
  targetPages: number;
  /** Pages moved out per run. */
  runPages: number;
  /** How often to look at the resident count when nothing wakes the thread, ms. */
  intervalMs: number;
  /** Writeback store opened read-write (pread to compare, pwrite the pages that differ); -1: no writeback. */
  fileFd: number;
  /** File offset of the region's byte 0. */
  fileBase: number;
  /** The region's eviction marker (core shared/eviction-marker.ts); parties wait on it with futexWait. */
  marker: Int32Array;
  /** The handler's region counters; stats[installedIndex] is the region's pagesInstalled. */
  stats: Int32Array;
  installedIndex: number;
}
export type NativeEvictorReport =
  | { type: 'flushed'; seq: number }
  /** seq: the flush whose pass failed (0: a background pass). */
  | { type: 'writeback-failed'; seq: number; first: number; pages: number; code: string; errno: number; syscall: 'pread' | 'pwrite' }
  | { type: 'stopped' };
/** An evicting region's evictor on a native thread: the policy of core's worker/evictor-thread.ts, writing back to a file. */
export declare class NativeEvictor {
  /** Maps and registers its staging buffer, starts the thread. `onReport` runs on this thread, never waited for. */
  constructor(options: NativeEvictorOptions, onReport: (report: NativeEvictorReport) => void);
  /** Asks for every resident page to be evicted (and written back); reported as 'flushed' with the returned seq. */
  flush(): number;
  /** Asks the thread to end after its run in progress; reported as 'stopped'. */
  stop(): void;
  /** Joins the thread (after stop(): at once) and releases the staging buffer. Idempotent. */
  close(): void;
  stats(): { evicted: number; writtenBack: number; passes: number; maxResidentSeen: number };
}
