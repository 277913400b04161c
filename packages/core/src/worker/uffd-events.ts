/**
 * Non-cooperative events of a served uffd (FORK, REMAP, REMOVE, UNMAP): they
 * change what later fault addresses mean, so the worker that takes one edits
 * the shared region table, then releases the reader's event barrier
 * (docs/ring.md §8). Until it does, the reader publishes nothing that follows
 * the event, so no later fault is looked up in a stale table.
 */
import { FaultlineError } from '../errors.js';
import type { UffdEvent } from '../events.js';
import { closeQuietly } from '../fds.js';
import { FORK_FLAG_UNSERVED, KIND_FORK } from '../ring/layout.js';
import { addressOf, decodeMessage, flagsOf, kindOf, uffdIdOf } from '../ring/message.js';
import type { FaultRing } from '../ring/ring.js';
import type { RegionTable } from '../shared/region-table.js';

export interface UffdEventSink {
  /** An event was applied. */
  applied(event: UffdEvent): void;
  /** Something about a uffd went wrong that no fault reports (a fork child that cannot be served). */
  failed(uffdId: number, err: FaultlineError): void;
}

export class UffdEventApplier {
  /** Events applied by this worker. */
  count = 0;

  constructor(
    private readonly table: RegionTable,
    private readonly ring: FaultRing,
    private readonly sink: UffdEventSink,
  ) {}

  /** Applies the event message whose head is record `i` of `records`. */
  apply(records: Uint32Array, i: number): void {
    this.count++;
    try {
      if (kindOf(records, i) === KIND_FORK && (flagsOf(records, i) & FORK_FLAG_UNSERVED) !== 0) {
        this.refuseFork(uffdIdOf(records, i), addressOf(records, i));
        return;
      }
      let event: UffdEvent;
      try {
        const message = decodeMessage(records, i);
        if (message.kind === 'fault') return;
        event = message;
      } catch {
        return; // an unknown kind is skipped whole (its continuations with it)
      }
      switch (event.kind) {
        case 'fork':
          this.table.cloneUffd(event.uffdId, event.childUffdId);
          break;
        case 'remap':
          this.table.remap(event.uffdId, event.from, event.to, event.length);
          break;
        case 'remove':
          this.table.zeroRange(event.uffdId, event.start, event.end);
          break;
        case 'unmap':
          this.table.unmapRange(event.uffdId, event.start, event.end);
          break;
      }
      this.sink.applied(event);
    } finally {
      this.ring.markEventApplied();
    }
  }

  /**
   * The reader had no uffd id left for a forked child and handed us its fd.
   * Nobody can serve it: closing it lets the child's registered ranges fall
   * back to ordinary memory, and the failure is reported.
   */
  private refuseFork(uffdId: number, childFd: number): void {
    closeQuietly(childFd);
    this.sink.failed(
      uffdId,
      new FaultlineError(
        'ERR_FAULTLINE_FORK_UNSERVED',
        `uffd ${uffdId}: its process forked but every uffd id is taken, so the child's uffd was closed ` +
          "(the child's registered memory is ordinary memory now); serve fewer uffds at once",
      ),
    );
  }
}
