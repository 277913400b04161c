// What a scenario must give back when it ends: fds, threads, resident memory.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
/** A full GC: region memory is unmapped when its last SharedArrayBuffer is collected. */
const gc = runInNewContext('gc');

/** Open fds and what each is (readlink), so a leak can say what leaked. */
function fdTable() {
  const table = new Map();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      table.set(fd, readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // the fd readdir itself held, closed by now
    }
  }
  return table;
}

export function processState() {
  const status = readFileSync('/proc/self/status', 'utf8');
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  const fdLinks = fdTable();
  return { fds: fdLinks.size, fdLinks, threads: field('Threads'), rss: field('VmRSS') * 1024 };
}

/** The fds open in `now` that `baseline` did not have, as "fd -> target". */
function newFds(baseline, now) {
  return [...now.fdLinks].filter(([fd, link]) => baseline.fdLinks.get(fd) !== link).map(([fd, link]) => `${fd} -> ${link}`);
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
    const delta = { fds: now.fds - baseline.fds, threads: now.threads - baseline.threads, rss: now.rss - baseline.rss, newFds: newFds(baseline, now) };
    if ((delta.fds <= 0 && delta.threads <= 0 && delta.rss <= rssTolerance) || Date.now() > end) return delta;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export { gc };
