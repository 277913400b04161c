// The ring alone: 16-byte messages from C++ producer threads (ringProduce, the
// reader's own push code) to a TS consumer (FaultRing.take, the workers' own
// claim code) on the JS main thread. No uffd, no baseline: this bounds what
// the fault path could ever move through the ring.
import type { Placement } from './index.js';
import { FaultRing } from '@faultline/core/ring';
import testing from '@faultline/native/testing';
import type { RoundSample } from '../results.js';
import type { BenchContext, Scenario } from './types.js';

const CAPACITY = 4096; // FaultHandler's default ring
const BATCH = 256; // records per take()

function messagesPerRound(ctx: BenchContext): number {
  // Scale with the run size (quick runs use smaller regions): 2M msgs at 32 MiB.
  return Math.max(1 << 18, (ctx.size / (32 << 20)) * (1 << 21));
}

async function ringRound(ctx: BenchContext, producers: number): Promise<RoundSample> {
  const ring = FaultRing.create(CAPACITY);
  const perProducer = Math.floor(messagesPerRound(ctx) / producers);
  const total = perProducer * producers;
  const next = new Uint32Array(producers); // expected arg of each producer's next message
  const out = new Uint32Array(BATCH * 4);
  const start = process.hrtime.bigint();
  const produced = testing.ringProduce(ring.i32, producers, perProducer);
  let taken = 0;
  while (taken < total) {
    const n = ring.take(out, BATCH);
    for (let r = 0; r < n; r++) {
      // Producer t's i-th message: uffd id t (w0 bits 20..31), arg i (w2): check exactly-once order.
      const t = out[r * 4]! >>> 20;
      if (t >= producers || out[r * 4 + 2] !== next[t]) {
        throw new Error(`ring: producer ${t} sent message ${out[r * 4 + 2]} but ${next[t]} was expected (lost, duplicated or torn)`);
      }
      next[t]!++;
    }
    taken += n;
  }
  const elapsedNs = Number(process.hrtime.bigint() - start);
  await produced;
  return { elapsedNs, pages: total, faults: total, p50Ns: null, p99Ns: null, resolverCalls: null, rssDeltaKb: null, cpuNs: null };
}

export function ringScenario(producers: number, placement: Placement = 'scheduled'): Scenario {
  return {
    name: `ring-${producers}p`,
    group: 'ring alone',
    description: `${producers} C++ producer thread(s) -> 1 TS consumer (main thread), ring of ${CAPACITY} records`,
    unit: 'msgs/s',
    quick: producers === 1,
    // Pinned, producer and consumer time-slice one CPU: a bound of the placement, not of the ring.
    targets: producers === 1 && placement === 'scheduled' ? [{ text: '>= 5M msgs/s', minThroughput: 5e6 }] : [],
    pages: (ctx) => Math.floor(messagesPerRound(ctx) / producers) * producers,
    references: {},
    faultline: (ctx) => ringRound(ctx, producers),
  };
}
