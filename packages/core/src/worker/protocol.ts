/**
 * Messages between the FaultHandler (main thread) and its resident serve loops.
 *
 * Nothing here is on the fault path: main -> worker messages set up regions
 * before they are registered; worker -> main messages report what happened
 * (errors, events, samples) after the fault is already resolved.
 *
 * A serve loop parked in a futex cannot run its event loop, so main bumps
 * CONTROL_SEQ and wakes the ring's futex after posting; the loop then pulls its
 * messages synchronously with receiveMessageOnPort.
 */
import type { MessagePort } from 'node:worker_threads';
import type { ResolverSpec } from '../resolver.js';

/** Int32 words of the control SAB. */
export const CONTROL_SEQ = 0;
/** Sample one fault in N to the main thread ('fault' events); 0 = off. */
export const CONTROL_SAMPLE_EVERY = 1;
/** uffd messages workers read themselves through the direct poll set (the reader counts its own). */
export const CONTROL_DIRECT_MESSAGES = 2;
/** Per-worker busy flags start here (1 while the worker holds records). */
export const CONTROL_BUSY_BASE = 8;
export const CONTROL_WORDS = CONTROL_BUSY_BASE + 64;

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
  direct: { epollFd: number; kickFd: number } | null;
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

export interface WireError {
  message: string;
  code: string;
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
      action: 'poisoned' | 'zeroed' | 'none';
      error: WireError;
    }
  | {
      type: 'uffd-event';
      worker: number;
      uffdId: number;
      event:
        | { kind: 'fork'; childUffdId: number }
        | { kind: 'remap'; from: number; to: number; length: number }
        | { kind: 'remove'; start: number; end: number }
        | { kind: 'unmap'; start: number; end: number };
    }
  | { type: 'fault-sample'; worker: number; uffdId: number; regionId: number; address: number; write: boolean; tid: number };

export function toWireError(err: unknown, fallbackCode: string): WireError {
  if (err instanceof Error) {
    const code = typeof (err as { code?: unknown }).code === 'string' ? (err as unknown as { code: string }).code : fallbackCode;
    return { message: err.message, code, ...(err.stack ? { stack: err.stack } : {}) };
  }
  return { message: String(err), code: fallbackCode };
}
