// Runs faultline_wake_probe (built with @faultline/native): the cost of waking
// a sleeping thread on this machine. It is printed with every table because
// it explains the baseline: a blocking handler pays two such wake-ups per
// fault, and on a VM whose idle vCPUs halt they dominate (docs/performance.md).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseJsonLine, programPath } from './native-program.js';

const run = promisify(execFile);

export const WAKE_PROBE_PROGRAM = 'faultline_wake_probe';

export interface WakeProbe {
  /** Mean round trip between two threads that both sleep between turns (two wake-ups). */
  sleepRoundTripNs: number;
  /** The same with the peer spinning (only one side sleeps). */
  spinRoundTripNs: number;
}

export async function probeWakeups(rounds = 5000): Promise<WakeProbe> {
  const { stdout } = await run(programPath(WAKE_PROBE_PROGRAM), ['--rounds', String(rounds)]);
  const r = parseJsonLine(WAKE_PROBE_PROGRAM, stdout);
  const positive = (key: string): number => {
    const v = r.num(key);
    if (!(v > 0)) throw new Error(`${WAKE_PROBE_PROGRAM} printed a ${key} that is not positive: ${v}`);
    return v;
  };
  return { sleepRoundTripNs: positive('sleepRoundTripNs'), spinRoundTripNs: positive('spinRoundTripNs') };
}
