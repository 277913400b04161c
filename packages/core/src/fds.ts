/** Closing fds where a failure changes nothing (already closed, or about to be released anyway). */
import { closeSync } from 'node:fs';

/** close(2), ignoring an fd that is already closed. */
export function closeQuietly(fd: number): void {
  if (fd < 0) return;
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
