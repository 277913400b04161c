/**
 * What the FaultHandler (main thread) and its resident serve loops say to
 * each other, and what a serve loop is started with.
 *
 * Nothing here is on the fault path: main -> worker messages set up regions
 * before they are registered; worker -> main messages report what happened
 * (errors, events, samples) after the fault is already resolved.
 *
 * A serve loop parked in a syscall cannot run its event loop, so main bumps
 * the control block's seq and wakes the loops after posting; a loop then
 * pulls its messages synchronously with receiveMessageOnPort.
 */
import type { MessagePort } from 'node:worker_threads';
import { codeOf, type FaultlineErrorCode } from '../errors.js';
import type { FailureAction, UffdEvent } from '../events.js';
import type { ResolverSpec } from '../resolver.js';

/** What a serve loop needs to read the uffds itself (directPoll on; see native serve/fault_waiter.cc). */
export interface WaiterSetup {
  ownUffdId: number;
  /** The serve set: the epoll the leader waits on in epoll mode, and its kick eventfd. */
  epollFd: number;
  kickFd: number;
  /** The doorbell page on the own uffd (wakes a leader asleep in read(2)). */
  doorbell: number;
}

/** The one Piscina task each worker runs until the handler closes. */
export interface ServeTask {
  index: number;
  port: MessagePort;
  ringSab: SharedArrayBuffer;
  tableSab: SharedArrayBuffer;
  statsSab: SharedArrayBuffer;
  /** The fault trace recording regions append to (shared/fault-trace.ts). */
  traceSab: SharedArrayBuffer;
  uffdTableSab: SharedArrayBuffer;
  controlSab: SharedArrayBuffer;
  pageSize: number;
  /**
   * Set when the workers read the uffds themselves (leader/followers); null
   * when the reader thread publishes every fault to the ring.
   */
  waiter: WaiterSetup | null;
  /** The waiter serves faults of built-in resolvers natively (the region table says which). */
  nativeResolvers: boolean;
  /** Longest spin of the leader before it sleeps, microseconds (0: never). */
  spinUs: number;
  /** Longest single sleep (ms): bounds how long a lost wake-up could cost. */
  parkMs: number;
  /** Async resolutions one worker may have in flight. */
  maxInflight: number;
  /** Date.now() when the handler started: resolver calls are timed from it in the control block. */
  epochMs: number;
}

export type ToWorker =
  | {
      type: 'load-resolver';
      regionId: number;
      spec: ResolverSpec;
      name: string;
      regionSize: number;
      /** Bytes per page of the region (a huge page size for hugetlbfs regions); absent: the system's. */
      pageSize?: number;
      readahead: number;
      /** How long the resolver may take for one fault, ms. */
      resolveTimeoutMs: number;
      /** Resolver calls after a failure before the region's policy (onError { retry }). */
      retries: number;
      /** The region evicts (maxResident): its eviction marker (worker/evictor-thread.ts), checked on every fault. */
      eviction?: SharedArrayBuffer;
      /** backing 'memfd': the region's memfd (ResolverInfo.memfd). */
      memfd?: number;
      /** trackWrites 'sync': the region's dirty bitmap (shared/dirty-bitmap.ts), set on its write-protect faults. */
      dirtyBitmap?: SharedArrayBuffer;
    }
  | { type: 'drop-resolver'; regionId: number };

/** An error as it crosses the port (class and prototype do not survive structured cloning). */
export interface WireError {
  message: string;
  code: FaultlineErrorCode;
  stack?: string;
}

export type FromWorker =
  | { type: 'ready'; worker: number }
  | { type: 'resolver-loaded'; worker: number; regionId: number; error?: WireError }
  | { type: 'resolver-dropped'; worker: number; regionId: number }
  | {
      type: 'resolver-error';
      worker: number;
      regionId: number;
      address: number;
      offset: number;
      action: FailureAction;
      error: WireError;
    }
  | { type: 'uffd-event'; worker: number; event: UffdEvent }
  /** A uffd problem no fault reports (a forked child's uffd that could not be served). */
  | { type: 'uffd-error'; worker: number; uffdId: number; error: WireError }
  | { type: 'fault-sample'; worker: number; uffdId: number; regionId: number; address: number; write: boolean; tid: number };

export function toWireError(err: unknown, fallbackCode: FaultlineErrorCode): WireError {
  if (err instanceof Error) {
    return { message: err.message, code: codeOf(err, fallbackCode), ...(err.stack ? { stack: err.stack } : {}) };
  }
  return { message: String(err), code: fallbackCode };
}
