// Fault scenarios: a fresh region per round, touched once per page by the
// native toucher (or the JS main thread), served by Faultline; the same size,
// order, thread count and content served by the C references: the blocking
// baseline, the busy-polling limit and, with readahead, the blocking handler
// installing as many pages per fault.
import testing from '@faultline/native/testing';
import { runBaseline } from '../baseline.js';
import { releaseRegion, resolverFor, type Content } from '../faultline.js';
import type { RoundSample, Target } from '../results.js';
import { touchFromJs } from '../touch-js.js';
import { checkContent, type BenchContext, type Scenario } from './types.js';

export interface FaultSpec {
  name: string;
  group: string;
  description: string;
  order: 'sequential' | 'random';
  threads: number;
  content: Content;
  workers: number;
  readahead: number;
  /** Who faults: native toucher threads, or the JS main thread reading region.buffer. */
  toucher: 'native' | 'js';
  /** map({ install }): how pages go in (absent: the library's default, 'copy'). */
  install?: 'copy' | 'move';
  quick: boolean;
  targets: Target[];
}

function rssKb(): number {
  return process.memoryUsage.rss() / 1024;
}

async function faultlineRound(spec: FaultSpec, ctx: BenchContext): Promise<RoundSample> {
  if (ctx.handlers === null) throw new Error('internal: Faultline side run without @faultline/core');
  const handler = await ctx.handlers.get(spec.workers);
  const before = rssKb();
  const region = await handler.map({
    size: ctx.size,
    resolver: resolverFor(spec.content, ctx.seed, ctx.file),
    readahead: spec.readahead,
    ...(spec.install !== undefined ? { install: spec.install } : {}),
    name: spec.name,
  });
  try {
    const cpuBefore = process.cpuUsage();
    const t =
      spec.toucher === 'native'
        ? await testing.touchPages(region.address, region.size, { order: spec.order, threads: spec.threads, seed: ctx.seed })
        : touchFromJs(region.buffer, ctx.pageSize, spec.order, ctx.seed);
    const cpu = process.cpuUsage(cpuBefore); // every thread of this process: touchers, reader, workers
    const rssDeltaKb = Math.round(rssKb() - before);
    checkContent(spec.name, 'Faultline handler', t.checksum, ctx.expectedChecksum(spec.content));
    const stats = region.stats();
    return {
      elapsedNs: t.elapsedNs,
      pages: t.pages,
      faults: stats.faults,
      p50Ns: t.p50Ns,
      p99Ns: t.p99Ns,
      resolverCalls: stats.resolverCalls,
      rssDeltaKb,
      cpuNs: (cpu.user + cpu.system) * 1000,
    };
  } finally {
    await releaseRegion(region);
  }
}

/** One round of a C reference: `handler` decides blocking or busy, `readahead` the pages per fault. */
async function referenceRound(spec: FaultSpec, ctx: BenchContext, handler: 'blocking' | 'busy', readahead: number): Promise<RoundSample> {
  const r = await runBaseline({
    size: ctx.size,
    order: spec.order,
    // The JS set's faulting thread is one thread: compare with one toucher thread.
    threads: spec.toucher === 'js' ? 1 : spec.threads,
    seed: ctx.seed,
    content: spec.content,
    ...(spec.content === 'file' ? { file: ctx.file } : {}),
    handler,
    readahead,
  });
  const side = `C ${handler} handler${readahead > 1 ? ` (readahead ${readahead})` : ''}`;
  checkContent(spec.name, side, r.checksum, ctx.expectedChecksum(spec.content));
  return {
    elapsedNs: r.elapsedNs,
    pages: r.pages,
    faults: r.faults,
    p50Ns: r.p50Ns,
    p99Ns: r.p99Ns,
    resolverCalls: null,
    rssDeltaKb: r.rssDeltaKb,
    cpuNs: r.cpuNs,
  };
}

export function faultScenario(spec: FaultSpec): Scenario {
  const references: Scenario['references'] = {
    baseline: (ctx) => referenceRound(spec, ctx, 'blocking', 1),
    limit: (ctx) => referenceRound(spec, ctx, 'busy', 1),
  };
  if (spec.readahead > 1) {
    references.readaheadBaseline = (ctx) => referenceRound(spec, ctx, 'blocking', spec.readahead);
  }
  return {
    name: spec.name,
    group: spec.group,
    description: spec.description,
    unit: 'pages/s',
    quick: spec.quick,
    targets: spec.targets,
    pages: (ctx) => ctx.size / ctx.pageSize,
    references,
    faultline: (ctx) => faultlineRound(spec, ctx),
  };
}
