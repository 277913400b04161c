// Runs the raw C handler (faultline_c_baseline, built with @faultline/native)
// as a child process and parses its one JSON line. A child process keeps the
// baseline's memory, threads and RSS apart from the Node process measuring
// Faultline, while touch_core.h keeps the toucher identical.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildDir } from '@faultline/native/paths';

const run = promisify(execFile);

export const baselinePath = join(buildDir, 'faultline_c_baseline');

export interface BaselineOptions {
  size: number;
  order: 'sequential' | 'random';
  threads: number;
  seed: number;
  content: 'pattern' | 'zero' | 'file';
  /** Required with content 'file'. */
  file?: string;
  write?: boolean;
}

export interface BaselineResult {
  elapsedNs: number;
  pages: number;
  /** Fault messages the C handler served. */
  faults: number;
  eexist: number;
  p50Ns: number;
  p99Ns: number;
  checksum: bigint;
  /** Peak RSS of the whole baseline process (getrusage). */
  maxRssKb: number;
  /** RSS growth over the run, region pages included. */
  rssDeltaKb: number;
  /** User + system CPU of the whole baseline process over the touch (toucher and handler threads). */
  cpuNs: number;
}

export function baselineArgs(o: BaselineOptions): string[] {
  const args = ['--size', String(o.size), '--order', o.order, '--threads', String(o.threads),
    '--seed', String(o.seed), '--page-content', o.content];
  if (o.file !== undefined) args.push('--file', o.file);
  if (o.write) args.push('--write');
  return args;
}

export async function runBaseline(o: BaselineOptions): Promise<BaselineResult> {
  if (!existsSync(baselinePath)) {
    const err = new Error(`the C baseline is not built (${baselinePath} missing): run \`npm run build\` at the repository root`);
    (err as NodeJS.ErrnoException).code = 'ERR_FAULTLINE_BASELINE_NOT_BUILT';
    throw err;
  }
  const { stdout } = await run(baselinePath, baselineArgs(o), { maxBuffer: 1 << 20 });
  const raw = JSON.parse(stdout) as Record<string, unknown>;
  const num = (key: string): number => {
    const v = raw[key];
    if (typeof v !== 'number') throw new Error(`faultline_c_baseline printed no numeric ${key}: ${stdout.trim()}`);
    return v;
  };
  return {
    elapsedNs: num('elapsedNs'),
    pages: num('pages'),
    faults: num('faults'),
    eexist: num('eexist'),
    p50Ns: num('p50Ns'),
    p99Ns: num('p99Ns'),
    checksum: BigInt(String(raw.checksum)),
    maxRssKb: num('maxRssKb'),
    rssDeltaKb: num('rssDeltaKb'),
    cpuNs: num('cpuNs'),
  };
}
