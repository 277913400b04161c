/**
 * Which regions record their first touches, and from where in the handler's
 * fault trace (shared/fault-trace.ts) their entries start.
 */
import { FaultlineError } from '../errors.js';
import type { FaultTraceBuffer } from '../shared/fault-trace.js';
import type { Trace } from '../trace/plan.js';

interface Recording {
  /** Trace position when the region started recording: earlier entries belong to a previous owner of its id. */
  from: number;
  /** Microseconds since the handler's epoch when it started. */
  startUs: number;
  size: number;
  offset: number;
  pageSize: number;
}

export class Recordings {
  private readonly byRegion = new Map<number, Recording>();

  constructor(
    private readonly buffer: FaultTraceBuffer,
    private readonly epochMs: number,
  ) {}

  /** Region `regionId` records from now on (call before its table entry carries FLAG_RECORD). */
  start(regionId: number, meta: { size: number; offset: number; pageSize: number }): void {
    const startUs = (performance.timeOrigin + performance.now() - this.epochMs) * 1000;
    this.byRegion.set(regionId, { from: this.buffer.position(), startUs, ...meta });
  }

  trace(regionId: number, name: string): Trace {
    const r = this.byRegion.get(regionId);
    if (!r) {
      throw new FaultlineError('ERR_FAULTLINE_NOT_RECORDING', `region "${name}" does not record: map or adopt it with record: true`);
    }
    const { pages, timesUs, complete } = this.buffer.collect(regionId, r.from, r.startUs, Math.floor(r.offset / r.pageSize));
    return { size: r.size, offset: r.offset, pageSize: r.pageSize, pages, timesUs, complete };
  }

  forget(regionId: number): void {
    this.byRegion.delete(regionId);
  }
}
