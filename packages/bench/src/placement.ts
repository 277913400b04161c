// --pin: where the bench's threads may run. Node cannot set its own CPU
// affinity, and threads started before a change (V8's, libuv's, the
// handlers' workers) would keep the old one anyway, so the CLI re-runs itself
// under `taskset -c CPU`: every thread of the new process, and every child
// process it starts (the C references, the adopt child), inherits the mask.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Placement } from './results.js';

/** Set in the re-run process: the CPU it was started pinned to (so it does not re-run itself again). */
export const PINNED_ENV = 'FAULTLINE_BENCH_PINNED_CPU';

/** The CPUs this process may run on, as the kernel lists them ('0-1', '0'). */
export function cpusAllowed(status = readFileSync('/proc/self/status', 'utf8')): string {
  const match = /^Cpus_allowed_list:\s*(\S+)/m.exec(status);
  return match?.[1] ?? 'unknown';
}

export function describePlacement(pin: number | null, allowed = cpusAllowed()): Placement {
  return { pinnedCpu: pin, cpusAllowed: allowed };
}

/** True when this process still has to re-run itself pinned to `pin`. */
export function needsPinnedRerun(pin: number | null, env: NodeJS.ProcessEnv = process.env): pin is number {
  return pin !== null && env[PINNED_ENV] !== String(pin);
}

/** In the re-run process: the affinity must be exactly the CPU asked for, or the numbers would lie about their placement. */
export function checkPinned(pin: number, allowed = cpusAllowed()): void {
  if (allowed !== String(pin)) {
    throw new Error(`--pin ${pin}: this process may run on CPUs '${allowed}', not only on ${pin}; taskset did not pin it`);
  }
}

/** Runs this same command under `taskset -c pin`; resolves with its exit status. */
export function rerunPinned(pin: number): Promise<number> {
  const args = ['-c', String(pin), process.execPath, ...process.execArgv, process.argv[1]!, ...process.argv.slice(2)];
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', args, { stdio: 'inherit', env: { ...process.env, [PINNED_ENV]: String(pin) } });
    child.on('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'ENOENT'
          ? new Error(`--pin needs taskset (util-linux), which is not on PATH: install util-linux, or pin the run yourself: taskset -c ${pin} npm run bench`)
          : err,
      );
    });
    child.on('close', (status, signal) => resolve(status ?? (signal ? 1 : 0)));
  });
}
