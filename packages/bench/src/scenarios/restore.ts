// Restore scenarios (issue 10): a Firecracker-style child (faultline_adopt_child
// --handshake firecracker) maps a 256 MiB region, hands its uffd over with the
// region list, and on "go" touches a fixed working set (20% of its pages, a
// fixed pseudo-random set in a fixed pseudo-random order) by its own clock,
// then checks every touched page against the memory file. The ways to
// restore it, each on a fresh child:
//   c-ondemand:          the blocking C handler process, one UFFDIO_COPY per fault (pread from the file);
//   faultline-ondemand:  adopt() with resolvers.file, recording the first touches (record: true),
//                        the trace then written with the working set's pages (writeTrace ... { memFile });
//   faultline-prefetch:  adopt() with that trace as its prefetch plan (readTrace);
//   restore-huge:        the child's memory hugetlb (2 MiB pages), on-demand, against 4 KiB on-demand;
//   restore-http:        the same memory file behind an HTTP server on loopback (1 ms added per request):
//                        http-ondemand-page (resolvers.httpRange, one page per request, recording; the
//                        trace written WITHOUT page data) against http-prefetch-chunked (that trace as plan:
//                        the JS prefetch thread asks the resolver for spans of the working set by address,
//                        fetched in Range GETs of up to 256 KiB straight into its buffers; faults it did not
//                        beat are served as on demand, one page per request).
// For Faultline, "go" is written before the trace is read and the uffd
// adopted, so the child's time includes everything a restore does after the
// VM starts (reading the plan, adopting); faults raised meanwhile wait in the
// uffd. CPU per page counts the child and the handling process.
import { closeSync } from 'node:fs';
import native from '@faultline/native';
import { parseHandshake, readTrace, resolvers, writeTrace, type AdoptedUffd, type AdoptRegion, type FaultHandler, type ResolverSpec } from '@faultline/core';
import { startAdoptChild, type AdoptChild, type AdoptChildResult } from '../adopt/child.js';
import { startAdoptHandler } from '../adopt/c-handler.js';
import { reserveHugePages } from '../restore/huge-pages.js';
import { startRangeServer, type RangeServer } from '../restore/range-server.js';
import type { RestoreComparisonSpec, RestoreSample } from '../restore/results.js';
import type { RestoreSnapshot } from '../restore/snapshot.js';
import { processCpuNs, unlessChildFails } from './adopt.js';
import type { BenchContext } from './types.js';

const WORKERS = 2;
export const RESTORE_BYTES = 256 << 20;
export const WORKING_SET_FRACTION = 0.2;
const HUGE_PAGE = 2 << 20;

/** What the variants of one round share: the trace the recording variant wrote, for the prefetching one. */
export interface RestoreRound {
  tracePath: string | null;
}

export interface RestoreVariant {
  name: string;
  description: string;
  /** Runs without @faultline/core (--baseline-only keeps only these). */
  reference: boolean;
  run(ctx: BenchContext, round: RestoreRound): Promise<RestoreSample>;
}

export interface RestoreScenario {
  kind: 'restore';
  name: string;
  group: string;
  description: string;
  quick: boolean;
  /**
   * The variants of a round, in units: a unit's variants run in this order
   * (the prefetch after the recording that made its trace); the units rotate
   * their place round by round, as the fault scenarios' sides do.
   */
  units: RestoreVariant[][];
  comparisons: RestoreComparisonSpec[];
  /** Set up what the scenario needs for its rounds (huge pages, a server); returns the undo, or why it cannot run. */
  prepare?(ctx: BenchContext): Promise<(() => void | Promise<void>) | string> | (() => void | Promise<void>) | string;
}

function checkedResult(r: AdoptChildResult, snapshot: RestoreSnapshot, variant: string): AdoptChildResult {
  // The child checks the bytes and exits 1 on a mismatch; this guards against a child run without the check.
  if (r.pages !== snapshot.workingSetPages || r.checkedPages !== snapshot.workingSetPages) {
    throw new Error(
      `restore ${variant}: the child touched ${r.pages} and checked ${r.checkedPages} pages, ` +
        `expected ${snapshot.workingSetPages} of each: the time of this round is meaningless`,
    );
  }
  return r;
}

function startRestoreChild(snapshot: RestoreSnapshot, socket: string, go: 'socket' | 'stdin', hugetlb: boolean, seed: number): AdoptChild {
  return startAdoptChild({
    socket,
    size: snapshot.regionBytes,
    order: 'sequential', // unused: the working set file is the order
    threads: 1,
    seed,
    handshake: 'firecracker',
    go,
    workingSet: snapshot.workingSetFile,
    checkFile: snapshot.memFile,
    hugetlb,
  });
}

function sampleOf(
  r: AdoptChildResult,
  faults: number,
  resolverCalls: number | null,
  handlerCpuNs: number,
  prefetched: number | null = null,
  requests: number | null = null,
): RestoreSample {
  return {
    prefetched,
    requests,
    elapsedNs: r.elapsedNs,
    pages: r.pages,
    faults,
    p50Ns: r.p50Ns,
    p99Ns: r.p99Ns,
    resolverCalls,
    rssDeltaKb: null,
    cpuNs: r.cpuNs + handlerCpuNs,
  };
}

async function cOnDemandRound(ctx: BenchContext): Promise<RestoreSample> {
  const snapshot = ctx.restoreSnapshot();
  const socket = ctx.adopt.freshSocketPath();
  const handler = startAdoptHandler({ socket, mode: 'blocking', content: 'file', file: snapshot.memFile, seed: ctx.seed });
  const child = startRestoreChild(snapshot, socket, 'socket', false, ctx.seed);
  try {
    const [r, h] = await Promise.all([child.result, handler.result]);
    await Promise.all([child.program.exited, handler.program.exited]);
    return sampleOf(checkedResult(r, snapshot, 'c-ondemand'), h.faults, null, h.cpuNs);
  } finally {
    child.program.kill();
    handler.program.kill();
  }
}

type FaultlineMode = { kind: 'ondemand'; record: boolean; hugetlb: boolean } | { kind: 'prefetch' };

/** Where a Faultline variant's pages come from: the memory file (default), or a server. */
interface PageSource {
  resolver(snapshot: RestoreSnapshot): ResolverSpec;
  /** The recorded trace carries the pages' bytes (else a prefetch must fetch them through the resolver). */
  traceWithPages: boolean;
  /** Requests the source has answered so far (counted by the server). */
  requests?(): number;
}

const FILE_SOURCE: PageSource = { resolver: (snapshot) => resolvers.file(snapshot.memFile), traceWithPages: true };

async function faultlineRound(ctx: BenchContext, round: RestoreRound, variant: string, mode: FaultlineMode, source: PageSource = FILE_SOURCE): Promise<RestoreSample> {
  if (ctx.handlers === null) throw new Error('internal: Faultline restore variant run without @faultline/core');
  const handler: FaultHandler = await ctx.handlers.get(WORKERS);
  const snapshot = ctx.restoreSnapshot();
  const hugetlb = mode.kind === 'ondemand' && mode.hugetlb;
  if (mode.kind === 'prefetch' && round.tracePath === null) {
    throw new Error(`restore ${variant}: no trace recorded in this round (the recording variant must run first)`);
  }
  const inbox = ctx.adopt.inbox();
  // "go" on stdin: the child then stays until released, so the handler's counters and trace are read while it lives.
  const child = startRestoreChild(snapshot, inbox.path, 'stdin', hugetlb, ctx.seed);
  try {
    const connection = await unlessChildFails(child, inbox.next(child.program.pid), 'its uffd');
    try {
      const [mapping] = parseHandshake(connection.payload, { pageSize: native.pageSize(), hugePageSizes: [HUGE_PAGE] });
      if (mapping === undefined) throw new Error('internal: the handshake parser returned no region');
      const cpuBefore = processCpuNs();
      const requestsBefore = source.requests?.() ?? 0;
      child.go();
      const region: AdoptRegion = {
        address: mapping.address,
        size: mapping.size,
        offset: mapping.offset,
        pageSize: mapping.pageSize,
        resolver: source.resolver(snapshot),
        name: variant,
      };
      if (mode.kind === 'ondemand' && mode.record) region.record = true;
      if (mode.kind === 'prefetch') region.prefetch = (await readTrace(round.tracePath!)).regions[0]!;
      let adopted: AdoptedUffd;
      try {
        adopted = await handler.adopt(connection.uffd, { regions: [region] });
      } catch (err) {
        closeSync(connection.uffd); // not adopted: still ours to close
        throw err;
      }
      try {
        const r = await child.result;
        const cpuNs = processCpuNs() - cpuBefore;
        await handler.idle(); // counters are bumped just after the install: let the last one land
        // Counted when the prefetch is done too (its last requests may come after the child's last touch).
        if (mode.kind === 'prefetch') await adopted.prefetched();
        const requests = source.requests === undefined ? null : source.requests() - requestsBefore;
        const [stats] = adopted.stats();
        const prefetched = mode.kind === 'prefetch' ? (await adopted.prefetched())[0]!.installed : null;
        if (mode.kind === 'ondemand' && mode.record) {
          const path = snapshot.tracePath();
          await writeTrace(path, adopted.traces(), source.traceWithPages ? { memFile: snapshot.memFile } : {});
          round.tracePath = path;
        }
        child.release();
        await child.program.exited;
        return sampleOf(checkedResult(r, snapshot, variant), stats?.faults ?? 0, stats?.resolverCalls ?? null, cpuNs, prefetched, requests);
      } finally {
        await adopted.close();
      }
    } finally {
      connection.close();
    }
  } finally {
    child.program.kill();
  }
}

const C_ONDEMAND: RestoreVariant = {
  name: 'c-ondemand',
  description: 'the blocking C handler process: one thread, one pread + UFFDIO_COPY per fault',
  reference: true,
  run: (ctx) => cOnDemandRound(ctx),
};

function faultlineVariant(name: string, description: string, mode: FaultlineMode, source?: PageSource): RestoreVariant {
  return { name, description, reference: false, run: (ctx, round) => faultlineRound(ctx, round, name, mode, source) };
}

const PREFETCH_TARGET = 3;
/** Issue 10: over HTTP, prefetching 256 KiB chunks >= 10x faster than fetching one page per fault. */
const HTTP_PREFETCH_TARGET = 10;
const HTTP_LATENCY_MS = 1;
const HTTP_CHUNK = 256 << 10;
/** Requests in flight per resolver: as many as the prefetch thread keeps spans in flight. */
const HTTP_CONCURRENCY = 16;

/**
 * The restore-http scenario: its server lives from prepare() to the undo, and
 * the two variants' resolvers point at it.
 */
function httpScenario(ws: string): RestoreScenario {
  let server: RangeServer | null = null;
  const url = (): string => {
    if (server === null) throw new Error('internal: restore-http variant run before its server was started');
    return server.url;
  };
  const requests = (): number => server?.requests() ?? 0;
  const pagePerRequest: PageSource = {
    resolver: (snapshot) => resolvers.httpRange(url(), { chunk: snapshot.pageSize }),
    traceWithPages: false, // the prefetching variant must fetch its pages over HTTP
    requests,
  };
  const chunked: PageSource = {
    resolver: (snapshot) =>
      resolvers.httpRange(url(), {
        // Faults the child takes where it overtakes the prefetch are served as on demand, a page a request;
        // the prefetch asks for the working set in requests of up to 256 KiB.
        chunk: snapshot.pageSize,
        prefetchChunk: HTTP_CHUNK,
        concurrency: HTTP_CONCURRENCY,
      }),
    traceWithPages: false,
    requests,
  };
  return {
    kind: 'restore',
    name: 'restore-http',
    group: 'restore',
    description:
      `the same snapshot and ${ws} behind an HTTP server on 127.0.0.1 (Range GETs, ${HTTP_LATENCY_MS} ms added per request): ` +
      'Faultline on demand one page per request (recording), against prefetching that trace (no page data) in 256 KiB chunks',
    quick: false,
    units: [
      [
        faultlineVariant(
          'http-ondemand-page',
          'adopt() with resolvers.httpRange, chunk = one page: one Range GET per fault; recording (trace written without page data)',
          { kind: 'ondemand', record: true, hugetlb: false },
          pagePerRequest,
        ),
        faultlineVariant(
          'http-prefetch-chunked',
          `adopt() with resolvers.httpRange, prefetchChunk ${HTTP_CHUNK >> 10} KiB (${HTTP_CONCURRENCY} requests in flight), the recorded trace as plan: ` +
            `the JS prefetch thread fetches spans of the working set (gaps up to 128 KiB along) in Range GETs of up to ${HTTP_CHUNK >> 10} KiB; ` +
            'faults it did not beat are served as on demand, a page a request',
          { kind: 'prefetch' },
          chunked,
        ),
      ],
    ],
    comparisons: [{ variant: 'http-prefetch-chunked', versus: 'http-ondemand-page', minSpeedup: HTTP_PREFETCH_TARGET }],
    prepare: async (ctx) => {
      server = await startRangeServer(ctx.restoreSnapshot().memFile, HTTP_LATENCY_MS);
      return async () => {
        await server?.close();
        server = null;
      };
    },
  };
}

export function restoreScenarios(): RestoreScenario[] {
  const ws = `${WORKING_SET_FRACTION * 100}% working set`;
  const fileScenario: RestoreScenario = {
    kind: 'restore',
    name: 'restore-file',
    group: 'restore',
    description:
      `a Firecracker-style child restoring a ${RESTORE_BYTES >> 20} MiB snapshot from a local memory file, touching a fixed ${ws} ` +
      'in a fixed pseudo-random order: C on demand, Faultline on demand (recording), Faultline prefetching the recorded trace',
    quick: true,
    units: [
      [C_ONDEMAND],
      [
        faultlineVariant('faultline-ondemand', `adopt() with resolvers.file, one page per fault, recording the first touches`, {
          kind: 'ondemand',
          record: true,
          hugetlb: false,
        }),
        faultlineVariant('faultline-prefetch', 'adopt() with the recorded trace as prefetch plan (its pages stored in the trace file)', {
          kind: 'prefetch',
        }),
      ],
    ],
    comparisons: [
      { variant: 'faultline-prefetch', versus: 'faultline-ondemand', minSpeedup: PREFETCH_TARGET },
      { variant: 'faultline-prefetch', versus: 'c-ondemand', minSpeedup: PREFETCH_TARGET },
    ],
  };
  const hugeScenario: RestoreScenario = {
    kind: 'restore',
    name: 'restore-huge',
    group: 'restore',
    description:
      `the same snapshot and ${ws}, the child's memory 2 MiB hugetlb pages (page_size 2 MiB in the handshake): ` +
      'Faultline on demand, one 2 MiB page per fault, against 4 KiB pages',
    quick: false,
    units: [
      [faultlineVariant('faultline-ondemand-4k', 'adopt() with resolvers.file, 4 KiB pages, one per fault', { kind: 'ondemand', record: false, hugetlb: false })],
      [faultlineVariant('faultline-ondemand-2m', 'adopt() with resolvers.file, 2 MiB hugetlb pages, one per fault', { kind: 'ondemand', record: false, hugetlb: true })],
    ],
    comparisons: [{ variant: 'faultline-ondemand-2m', versus: 'faultline-ondemand-4k' }],
    prepare: (ctx) => {
      // One child holds them at a time (each round's children run one after the other and are awaited).
      const reservation = reserveHugePages(ctx.restoreSnapshot().regionBytes / HUGE_PAGE);
      return typeof reservation === 'string' ? reservation : () => reservation.release();
    },
  };
  return [fileScenario, hugeScenario, httpScenario(ws)];
}
