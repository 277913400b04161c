// Runs faultline_wake_probe (built with @faultline/native): the cost of waking
// a sleeping thread on this machine. It is printed with every table because
// it explains the baseline: a blocking handler pays two such wake-ups per
// fault, and on a VM whose idle vCPUs halt they dominate (docs/performance.md).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildDir } from '@faultline/native/paths';

const run = promisify(execFile);

export const wakeProbePath = join(buildDir, 'faultline_wake_probe');

export interface WakeProbe {
  /** Mean round trip between two threads that both sleep between turns (two wake-ups). */
  sleepRoundTripNs: number;
  /** The same with the peer spinning (only one side sleeps). */
  spinRoundTripNs: number;
}

export async function probeWakeups(rounds = 5000): Promise<WakeProbe> {
  if (!existsSync(wakeProbePath)) {
    const err = new Error(`the wake-up probe is not built (${wakeProbePath} missing): run \`npm run build\` at the repository root`);
    (err as NodeJS.ErrnoException).code = 'ERR_FAULTLINE_BASELINE_NOT_BUILT';
    throw err;
  }
  const { stdout } = await run(wakeProbePath, ['--rounds', String(rounds)]);
  const raw = JSON.parse(stdout) as Record<string, unknown>;
  const num = (key: string): number => {
    const v = raw[key];
    if (typeof v !== 'number' || !(v > 0)) throw new Error(`faultline_wake_probe printed no positive ${key}: ${stdout.trim()}`);
    return v;
  };
  return { sleepRoundTripNs: num('sleepRoundTripNs'), spinRoundTripNs: num('spinRoundTripNs') };
}
