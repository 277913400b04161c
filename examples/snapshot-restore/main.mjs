// Snapshot restore, record then prefetch: the first restore of a memory
// snapshot serves pages one fault at a time and records which pages were
// touched first, in what order; the trace is written with those pages' bytes
// laid out contiguously; the next restore installs them ahead of the touches
// (one sequential read of the trace) while faults are still served.
//
//   node examples/snapshot-restore/main.mjs [MiB] [working-set %]   (default 64 MiB, 20%)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FaultHandler, fillPattern, readTrace, resolvers, writeTrace } from '@faultline/core';

const MIB = Number(process.argv[2] ?? 64);
const PERCENT = Number(process.argv[3] ?? 20);
const SIZE = MIB << 20;
const PAGE = 4096;

const dir = mkdtempSync(join(tmpdir(), 'faultline-snapshot-restore-'));
const memFile = join(dir, 'memory.bin');
const traceFile = join(dir, 'working-set.trace');

// The "snapshot": SIZE bytes of a deterministic pattern (any bytes would do).
const snapshot = new Uint8Array(SIZE);
fillPattern(7, 0, snapshot);
writeFileSync(memFile, snapshot);

// The working set: PERCENT% of the pages, in a fixed pseudo-random order.
function workingSet(pages, count, seed) {
  const order = Uint32Array.from({ length: pages }, (_, i) => i);
  let s = seed;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = i + (s % (pages - i));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order.subarray(0, count);
}
const touched = workingSet(SIZE / PAGE, Math.round((SIZE / PAGE) * PERCENT / 100), 42);

/** Reads one byte of every page of `pages`, in order; returns the milliseconds it took. */
function touch(buffer, pages = touched) {
  const bytes = new Uint8Array(buffer);
  let sum = 0;
  const start = performance.now();
  for (const page of pages) sum += bytes[page * PAGE];
  const ms = performance.now() - start;
  if (sum < 0) console.log(sum); // keeps the reads
  return ms;
}

const handler = await FaultHandler.create({ workers: 2 });
try {
  // Load the file resolver in the workers first, so neither timing below includes that one-time cost.
  const warm = await handler.map({ size: PAGE, resolver: resolvers.file(memFile), name: 'warm-up' });
  touch(warm.buffer, [0]);
  await warm.unmap();

  // 1. Restore on demand, recording the first touches.
  const first = await handler.map({ size: SIZE, resolver: resolvers.file(memFile), record: true, name: 'restore-record' });
  const onDemandMs = touch(first.buffer);
  await writeTrace(traceFile, [first.trace()], { memFile });
  await first.unmap();
  console.log(`on demand (recording): touched ${touched.length} of ${SIZE / PAGE} pages in ${onDemandMs.toFixed(1)} ms`);

  // 2. Restore again, prefetching the recorded working set.
  const plan = await readTrace(traceFile);
  const second = await handler.map({ size: SIZE, resolver: resolvers.file(memFile), prefetch: plan.regions[0], name: 'restore-prefetch' });
  const prefetchMs = touch(second.buffer);
  const p = await second.prefetched();
  console.log(
    `prefetch: touched the same pages in ${prefetchMs.toFixed(1)} ms ` +
      `(prefetch installed ${p.installed} of ${p.pages} pages, ${p.alreadyPresent} already there, in ${p.ms.toFixed(1)} ms)`,
  );

  // 3. Every touched page must hold the snapshot's bytes, whoever installed it.
  const memory = new Uint8Array(second.buffer);
  const file = readFileSync(memFile);
  for (const page of touched) {
    const at = page * PAGE;
    if (Buffer.compare(memory.subarray(at, at + PAGE), file.subarray(at, at + PAGE)) !== 0) {
      throw new Error(`page ${page} does not hold the snapshot's bytes`);
    }
  }
  console.log(`byte check: all ${touched.length} touched pages match the memory file`);
  console.log(`speed-up: ${(onDemandMs / prefetchMs).toFixed(2)}x (prefetch vs on demand)`);
  await second.unmap();
} finally {
  await handler.close();
  rmSync(dir, { recursive: true, force: true });
}
