/**
 * @faultline/native/testing — helpers for tests and the bench, in their own
 * addon (faultline_testing.node) so production code never loads them. Built by
 * the workspace build; a user's `npm install` (-Dfaultline_testing=0) has
 * none, and requiring this module then throws ERR_FAULTLINE_NATIVE_TESTING_NOT_BUILT.
 */

// ---------------------------------------------------------------- testing/ring_binding.cc

/**
 * Test/bench producer: starts `threads` native threads that each push
 * `perThread` single-record messages into the ring laid out in `ring`
 * (see docs/ring.md) — record i of thread t: type word kind=FAULT, uffd id = t,
 * arg = i (so consumers can check exactly-once and per-producer order).
 * Returns when all are pushed; `{ stalls }` counts full-ring waits.
 */
export declare function ringProduce(ring: Int32Array, threads: number, perThread: number): Promise<{ stalls: number; elapsedNs: number }>;
/**
 * Encodes one kernel uffd_msg (32 bytes) into ring records as the reader does;
 * returns the records' words (4 uint32 each; empty for an unknown event). For
 * golden vectors. A FORK record carries the uffd id the reader gave the child's
 * uffd, passed here as `forkChildId` (default 0), not the kernel's fd.
 */
export declare function encodeUffdMsg(msg: Uint8Array, uffdId: number, forkChildId?: number): Uint32Array;

// ---------------------------------------------------------------- testing/toucher.cc

export interface TouchOptions {
  /** Page size in bytes (default pageSize()). */
  pageSize?: number;
  /** 'sequential' or 'random' (a seeded permutation: each page once). */
  order?: 'sequential' | 'random';
  /** Faulting threads; pages are split between them. Default 1. */
  threads?: number;
  /** Write instead of read (a write fault). Default false. */
  write?: boolean;
  seed?: number;
  /** Record a per-fault latency sample for every page touched. Default true. */
  latencies?: boolean;
}
export interface TouchResult {
  elapsedNs: number;
  pages: number;
  /** Per-fault latency percentiles in ns (from the touching threads' clocks). */
  p50Ns: number;
  p99Ns: number;
  /** XOR-fold of the first 8 bytes of each page read, so the work is not optimised away and content can be checked. */
  checksum: bigint;
}
/** Native faulting threads touching one byte per page of [address, address+length). Resolves when all are done. */
export declare function touchPages(address: number, length: number, options?: TouchOptions): Promise<TouchResult>;

// ---------------------------------------------------------------- testing/errno_error.cc

/**
 * The Node-shaped error the main addon throws for a failed system call
 * (`code` 'EINVAL', `errno` -22, `syscall`, message "EINVAL: Invalid argument, <syscall>"),
 * built on demand so tests can check its shape. `syscall` defaults to 'test'.
 */
export declare function makeErrnoError(errno: number, syscall?: string): Error & { code: string; errno: number; syscall: string };

// ---------------------------------------------------------------- testing/ooc_binding.cc

/**
 * The bench's out-of-core workload (src/testing/ooc_workload.h), the same code
 * the C reference faultline_ooc_c runs. The array is `elements` uint64s at
 * `address`; each pass runs in a native thread of its own and resolves with
 * its elapsed time.
 */
/** Stream pass: a[i] = 3 * a[i] + 1 for every i in order. */
export declare function oocStream(address: number, elements: number): Promise<{ elapsedNs: number }>;
/** Random pass: `updates` times a[r % elements] += 1, r drawn from splitmix64 seeded with `seed`. */
export declare function oocRandom(address: number, elements: number, updates: number, seed: number): Promise<{ elapsedNs: number }>;
/** Writes the initial array file: `elements` little-endian uint64s, element i = i. Throws a Node-shaped errno error. */
export declare function oocInitFile(path: string, elements: number): void;
/** Reads the file (not any mapping) and returns how many elements differ from 3i + 1 + (times i was drawn). */
export declare function oocCheckFile(path: string, elements: number, updates: number, seed: number): number;

// ---------------------------------------------------------------- testing/move_out_binding.cc

/**
 * The native evictor's MoveRunOut (src/evict/move_out.h): moves the run of
 * `pages` pages at `src` into the empty, uffd-registered slots at `dst` with
 * UFFDIO_MOVE. Bit i of `lies` makes the i-th call answer "refused" whatever
 * it moved, as Linux 6.18 sometimes does. Returns what MoveRunOut concluded.
 */
export declare function moveRunOut(
  uffd: number,
  pagemapFd: number,
  dst: number,
  src: number,
  pages: number,
  pageSize: number,
  lies: number,
): { count: number; moved: number[]; calls: number };
