/**
 * "Nothing is pending anywhere": the check close(), unmap and idle() wait on.
 * A fault is, between the kernel and its answer, a thread parked on a uffd
 * (the kernel counts those: fdinfo 'total', whichever path the fault takes),
 * possibly a record in the ring or held by the reader thread (reader path),
 * and a worker holding it (its busy flag, raised before the read returns to
 * JS and dropped after the answer and its counters). Each is asked in an
 * order that cannot miss one moving between them (see isQuiet).
 */
import native from '@faultline/native';
import type { FaultRing } from '../ring/ring.js';
import type { ControlBlock } from '../shared/control-block.js';
import type { UffdTable } from '../shared/uffd-table.js';
import { readUffdFdinfo } from './uffd-fdinfo.js';

export interface PendingSources {
  ring: FaultRing;
  /** The reader thread (reader path only). */
  reader: native.Reader | null;
  control: ControlBlock;
  workers: number;
  /** Every uffd in it is asked for threads parked on it. */
  uffds: UffdTable;
}

/** Threads parked on any served uffd right now (a closed fd counts as none). */
export function parkedThreads(uffds: UffdTable): number {
  let parked = 0;
  for (const fd of uffds.fds) {
    if (fd < 0) continue;
    try {
      parked += readUffdFdinfo(fd).total;
    } catch {
      // closed while we looked: nobody can be parked on it any more
    }
  }
  return parked;
}

/** True when no fault is queued, held or in flight right now. */
export function isQuiet(s: PendingSources): boolean {
  if (!s.ring.isEmpty() || (s.reader !== null && !s.reader.idle())) return false;
  // Parked threads before busy flags: a worker raises its flag before the
  // thread it read is answered, so a fault moving from one to the other is seen.
  if (parkedThreads(s.uffds) > 0) return false;
  return !s.control.anyBusy(s.workers);
}

/**
 * Resolves true once isQuiet held twice in a row (closing the gap between
 * "read from the uffd" and "published"), false if that did not happen within
 * `timeoutMs`.
 */
export async function quiesce(s: PendingSources, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let calm = 0;
  while (Date.now() < deadline) {
    if (isQuiet(s)) {
      if (++calm >= 2) return true;
    } else {
      calm = 0;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  return false;
}
