// An array 4x larger than the memory it may use: a 64 MiB file-backed array
// served with a 16 MiB resident budget. Pages fault in from the file; past
// the budget a clock hand sweeping the array moves pages out in the
// background, and the ones that changed are written back to the file first.
// A streaming pass and a random-update pass, as in LLNL UMap's examples,
// then every value is checked in memory and in the file.
//
//   node examples/out-of-core/main.mjs
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FaultHandler, resolvers } from '@faultline/core';

const PAGE = 4096;
const SIZE = 64 << 20;
const BUDGET = 16 << 20;
const N = SIZE / 8; // float64 elements
const dir = mkdtempSync(join(tmpdir(), 'faultline-ooc-'));
const file = join(dir, 'array.f64');
try {
  const init = new Float64Array(N);
  for (let i = 0; i < N; i++) init[i] = i;
  writeFileSync(file, init);

  const handler = await FaultHandler.create({ workers: 2 });
  const region = await handler.map({
    size: SIZE,
    resolver: resolvers.file(file, { writable: true }),
    maxResident: BUDGET,
    writeback: true,
    // 16 pages per fault while a thread reads in order (the streaming pass); random faults take one.
    readahead: 16,
  });
  const a = new Float64Array(region.buffer);

  // Streaming pass: a[i] = 2 * a[i] + 1.
  let t0 = performance.now();
  for (let i = 0; i < N; i++) a[i] = 2 * a[i] + 1;
  const streamMs = performance.now() - t0;
  const streamFaults = region.stats().faults;

  // Random updates: 200,000 increments at pseudo-random places.
  let x = 7;
  const UPDATES = 200_000;
  const touched = new Map();
  t0 = performance.now();
  for (let k = 0; k < UPDATES; k++) {
    x = (x * 1103515245 + 12345) >>> 0;
    const i = x % N;
    a[i] += 1;
    touched.set(i, (touched.get(i) ?? 0) + 1);
  }
  const randomMs = performance.now() - t0;

  const check = (get, where) => {
    let bad = 0;
    for (let i = 0; i < N; i++) if (get(i) !== 2 * i + 1 + (touched.get(i) ?? 0)) bad++;
    console.log(`${where}: ${bad === 0 ? 'every value right' : `${bad} WRONG values`}`);
    return bad;
  };
  let bad = check((i) => a[i], 'in memory');
  await region.flush();
  const ev = region.evictionStats();
  const onDisk = new Float64Array(readFileSync(file).buffer);
  bad += check((i) => onDisk[i], 'in the file after flush()');
  console.log(
    `streaming pass ${streamMs.toFixed(0)} ms (${((SIZE / PAGE / streamMs) * 1000).toFixed(0)} pages/s, ${streamFaults} faults for ${SIZE / PAGE} pages), ` +
      `random updates ${randomMs.toFixed(0)} ms; ` +
      `${ev.evicted} pages evicted, ${ev.writtenBack} written back (${((ev.writtenBack * PAGE) / 2 ** 20).toFixed(0)} MiB), ` +
      `resident peaked at ${((ev.maxResidentSeen * PAGE) / 2 ** 20).toFixed(1)} MiB of a ${BUDGET / 2 ** 20} MiB budget`,
  );
  await handler.close();
  if (bad) process.exit(1);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
