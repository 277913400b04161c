// Runs the raw C handlers (faultline_c_baseline, built with @faultline/native)
// as a child process and parses its one JSON line. A child process keeps the
// reference's memory, threads and RSS apart from the Node process measuring
// Faultline, while touch_core.h keeps the toucher identical.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseJsonLine, programPath } from './native-program.js';

const run = promisify(execFile);

export const BASELINE_PROGRAM = 'faultline_c_baseline';

export interface BaselineOptions {
  size: number;
  order: 'sequential' | 'random';
  threads: number;
  seed: number;
  content: 'pattern' | 'zero' | 'file';
  /** Required with content 'file'. */
  file?: string;
  write?: boolean;
  /** 'blocking' (default): the baseline; 'busy': the limit (spinning on a non-blocking uffd). */
  handler?: 'blocking' | 'busy';
  /** Pages installed per fault (default 1). */
  readahead?: number;
}

export interface BaselineResult {
  /** How the handler waited for faults, and pages per fault, as the program ran them. */
  mode: 'blocking' | 'busy';
  readahead: number;
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
  if (o.handler !== undefined) args.push('--handler', o.handler);
  if (o.readahead !== undefined) args.push('--readahead', String(o.readahead));
  return args;
}

export async function runBaseline(o: BaselineOptions): Promise<BaselineResult> {
  const { stdout } = await run(programPath(BASELINE_PROGRAM), baselineArgs(o), { maxBuffer: 1 << 20 });
  const r = parseJsonLine(BASELINE_PROGRAM, stdout);
  return {
    mode: r.str('mode') === 'busy' ? 'busy' : 'blocking',
    readahead: r.num('readahead'),
    elapsedNs: r.num('elapsedNs'),
    pages: r.num('pages'),
    faults: r.num('faults'),
    eexist: r.num('eexist'),
    p50Ns: r.num('p50Ns'),
    p99Ns: r.num('p99Ns'),
    checksum: r.big('checksum'),
    maxRssKb: r.num('maxRssKb'),
    rssDeltaKb: r.num('rssDeltaKb'),
    cpuNs: r.num('cpuNs'),
  };
}
