/** Closing fds received from other processes, where a failure changes nothing. */
import { closeSync } from 'node:fs';

/** close(2), ignoring an fd that is already closed. */
export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

/** Closes every fd of `fds`. */
export function closeAll(fds: Iterable<number>): void {
  for (const fd of fds) closeQuietly(fd);
}
