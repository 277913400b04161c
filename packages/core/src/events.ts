/**
 * Every event and failure shape Faultline reports, defined once: the ring's
 * decoder, the worker protocol, the handler's and the adopted uffd's events all
 * use these types.
 */
import type native from '@faultline/native';
import { FaultlineError, type FaultlineErrorCode } from './errors.js';
import type { RingStats } from './ring/ring.js';
import type { WorkerCounters } from './shared/control-block.js';
import type { RegionStats } from './shared/region-stats.js';

/** The non-cooperative uffd events Faultline applies (and the uffd features that ask for them). */
export const UFFD_EVENT_KINDS = ['fork', 'remap', 'remove', 'unmap'] as const;
export type UffdEventKind = (typeof UFFD_EVENT_KINDS)[number];

/** A non-cooperative event of a served uffd, as applied to the region table. */
export type UffdEvent =
  /** The process forked; the child's uffd (given id `childUffdId`) is served like the parent's. */
  | { kind: 'fork'; uffdId: number; childUffdId: number }
  /** mremap moved [from, from + length) to `to`; the moved pages keep their resolver offsets. */
  | { kind: 'remap'; uffdId: number; from: number; to: number; length: number }
  /** madvise(DONTNEED/REMOVE) dropped [start, end): those pages read as zero from now on. */
  | { kind: 'remove'; uffdId: number; start: number; end: number }
  /** munmap of [start, end): no longer served. */
  | { kind: 'unmap'; uffdId: number; start: number; end: number };

/** A page fault as the ring carries it. */
export interface FaultMessage {
  kind: 'fault';
  uffdId: number;
  address: number;
  write: boolean;
  wp: boolean;
  minor: boolean;
  /** Faulting thread id (THREAD_ID feature), else 0. */
  tid: number;
}

/** One message of the ring, decoded. */
export type RingMessage = FaultMessage | UffdEvent;

/** A region's answer to a page its resolver could not produce: SIGBUS (poison) or a zero page. */
export type OnErrorPolicy = 'sigbus' | 'zero';

/**
 * MapOptions.onError: the policy, or first `retry` more calls of the resolver
 * (after a throw, a rejection, a timeout or an invalid answer), `then` the
 * policy (default 'sigbus').
 */
export type OnError = OnErrorPolicy | { retry: number; then?: OnErrorPolicy };

/** What the faulting thread got when its page could not be produced. */
export type FailureAction =
  /** The page was poisoned: the thread gets SIGBUS (onError 'sigbus'). */
  | 'poisoned'
  /** A zero page was installed (onError 'zero', or POISON unavailable). */
  | 'zeroed'
  /** Neither could be installed: the thread was woken and will fault again. */
  | 'none';

/** A resolver (or install) failure, as emitted on 'error'. */
export class ResolverFailure extends FaultlineError {
  constructor(
    code: FaultlineErrorCode,
    message: string,
    /** Handler-wide region id (-1: the address was in no served region). */
    readonly regionId: number,
    readonly address: number,
    /** Resolver offset of `address` (-1 when unknown). */
    readonly offset: number,
    /** What the faulting thread got. */
    readonly action: FailureAction,
  ) {
    super(code, message);
    this.name = 'ResolverFailure';
  }
}

/** One fault in N, when FaultHandlerOptions.faultSampleEvery is set. */
export interface FaultSample {
  uffdId: number;
  regionId: number;
  address: number;
  write: boolean;
  tid: number;
}

/** handler.stats(), and the payload of the 'stats' event. */
export interface HandlerStats {
  /** The reader thread's counters: `messages` are the uffd messages it read. */
  reader: native.ReaderStats;
  /** What the workers' waiting did (all zero with directPoll off, when the reader reads everything). */
  workers: WorkerCounters;
  ring: RingStats;
  /** Per region: own regions by name, adopted ones by region id. */
  regions: Record<string, RegionStats>;
}

/** The FaultHandler's events. */
export interface FaultHandlerEvents {
  /**
   * Something could not be served. Fault failures are ResolverFailure (with
   * what the faulting thread got); other problems (a forked child's uffd that
   * could not be served) are FaultlineError with their code.
   */
  error: [FaultlineError];
  /** One fault in N (FaultHandlerOptions.faultSampleEvery). */
  fault: [FaultSample];
  /** A non-cooperative event of an adopted uffd (or the own uffd, with event features). */
  'uffd-event': [UffdEvent];
  /** Periodic counters while someone listens (FaultHandlerOptions.statsIntervalMs). */
  stats: [HandlerStats];
}
