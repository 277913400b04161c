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

/** The direct poll set's fds (docs/ring.md §9). */
export interface DirectPollFds {
  epollFd: number;
  kickFd: number;
}

/** The one Piscina task each worker runs until the handler closes. */
export interface ServeTask {
  index: number;
  port: MessagePort;
  ringSab: SharedArrayBuffer;
  tableSab: SharedArrayBuffer;
  statsSab: SharedArrayBuffer;
  uffdTableSab: SharedArrayBuffer;
  controlSab: SharedArrayBuffer;
  pageSize: number;
  /**
   * The handler's direct poll set: when set, an idle loop parks there and
   * reads faults from the uffd itself (one wake-up per fault); records the
   * reader publishes meanwhile arrive with a kick.
   */
  direct: DirectPollFds | null;
  /** Ring checks before parking. */
  spin: number;
  /** Longest single park (ms): bounds how long a lost wake-up could cost. */
  parkMs: number;
  /** Async resolutions one worker may have in flight. */
  maxInflight: number;
}

export type ToWorker =
  | {
      type: 'load-resolver';
      regionId: number;
      spec: ResolverSpec;
      name: string;
      regionSize: number;
      readahead: number;
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
