/**
 * "Nothing is pending anywhere": the check close(), unmap and idle() wait on.
 * A fault can be in one of four places between the kernel and its install:
 * queued in the kernel (the uffd is readable), held by the reader thread, in
 * the ring, or in a worker's hands. Each is asked in an order that cannot miss
 * one moving between them (see isQuiet).
 */
import native from '@faultline/native';
import type { FaultRing } from '../ring/ring.js';
import type { ControlBlock } from '../shared/control-block.js';

export interface PendingSources {
  ring: FaultRing;
  reader: native.Reader;
  control: ControlBlock;
  workers: number;
  /** The own uffd when idle workers read it themselves (direct poll), else -1. */
  directUffd: number;
}

/** True when no fault is queued, held or in flight right now. */
export function isQuiet(s: PendingSources): boolean {
  if (!s.ring.isEmpty() || !s.reader.idle()) return false;
  // A fault the kernel handed to a parked worker is on no epoll ready list
  // of the reader's: ask the uffd itself. Checked before the busy flags,
  // which a worker raises before it reads (so a read message is never missed).
  if (s.directUffd >= 0 && native.fdReadable(s.directUffd)) return false;
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
