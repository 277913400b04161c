// What a scenario is: Faultline and its C references (blocking baseline, the
// busy-polling limit, the readahead reference), each running one measured
// round on demand, over the context shared by the whole bench run.
import type { AdoptHost } from '../adopt/host.js';
import type { Content, HandlerPool } from '../faultline.js';
import type { RestoreSnapshot } from '../restore/snapshot.js';
import type { ReferenceName, RoundSample, Target } from '../results.js';

export interface BenchContext {
  /** Bytes per region (per round). */
  size: number;
  pageSize: number;
  /** Pattern seed and random-order seed, both sides. */
  seed: number;
  /** The data file of the `file` scenarios (size bytes of random data). */
  file: string;
  /** null with --baseline-only. */
  handlers: HandlerPool | null;
  /** Sockets of the adopt scenarios (Faultline's listener and Firecracker server, the C handlers'). */
  adopt: AdoptHost;
  /** The toucher checksum a correctly served region of `content` must give. */
  expectedChecksum(content: Content): bigint;
  /** The restore group's memory file and working set, written on first call. */
  restoreSnapshot(): RestoreSnapshot;
}

export type SideRun = (ctx: BenchContext) => Promise<RoundSample>;

export interface Scenario {
  /** Unique; --filter matches a substring of it or of the group. */
  name: string;
  group: string;
  description: string;
  unit: 'pages/s' | 'msgs/s';
  /** Part of the --quick set. */
  quick: boolean;
  targets: Target[];
  /** Pages (messages) per round. */
  pages(ctx: BenchContext): number;
  /** The C references this scenario runs (none for the ring). */
  references: Partial<Record<ReferenceName, SideRun>>;
  faultline: SideRun;
}

/** Thrown when a handler served wrong bytes: a bench that is fast and wrong must not print a number. */
export function checkContent(scenario: string, side: string, got: bigint, expected: bigint): void {
  if (got !== expected) {
    const err = new Error(
      `${scenario}: the ${side} served wrong page contents (toucher checksum 0x${got.toString(16)}, ` +
        `expected 0x${expected.toString(16)}); the throughput of this run is meaningless`,
    );
    (err as NodeJS.ErrnoException).code = 'ERR_FAULTLINE_BENCH_CONTENT';
    throw err;
  }
}
