// What a scenario must give back when it ends: fds, threads, resident memory.
import { readFileSync, readdirSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
/** A full GC: region memory is unmapped when its last SharedArrayBuffer is collected. */
const gc = runInNewContext('gc');

export function processState() {
  const status = readFileSync('/proc/self/status', 'utf8');
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return {
    fds: readdirSync('/proc/self/fd').length - 1, // minus the fd readdir itself holds
    threads: field('Threads'),
    rss: field('VmRSS') * 1024,
  };
}

/**
 * Collects garbage and waits (up to `timeoutMs`) for fds and threads to come
 * back to `baseline` and RSS to within `rssTolerance` of it: threads and SAB
 * backing stores go away asynchronously after close(). Returns the deltas seen last.
 */
export async function settleTo(baseline, { timeoutMs = 10_000, rssTolerance }) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
    gc();
    const now = processState();
    const delta = { fds: now.fds - baseline.fds, threads: now.threads - baseline.threads, rss: now.rss - baseline.rss };
    if ((delta.fds <= 0 && delta.threads <= 0 && delta.rss <= rssTolerance) || Date.now() > end) return delta;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export { gc };
