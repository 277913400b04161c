// Incremental snapshots of live memory: a 64 MiB region tracks its writes
// (UFFD_FEATURE_WP_ASYNC: the kernel notes the first write to each page, no
// fault message); every "epoch" the program saves only the pages written
// since the last one, then rebuilds the memory from the snapshots and checks
// it byte for byte.
//
//   node examples/dirty-tracking/main.mjs
import { FaultHandler, resolvers } from '@faultline/core';

const PAGE = 4096;
const PAGES = 16384; // 64 MiB
const handler = await FaultHandler.create({ workers: 2 });
const region = await handler.map({ size: PAGES * PAGE, resolver: resolvers.zero(), trackWrites: true });
const memory = new Uint8Array(region.buffer);

// A base snapshot (all zero) and then three epochs of scattered writes.
const snapshots = [];
let x = 12345; // xorshift32: a fixed, well-spread sequence of pages
const random = () => {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return (x >>> 0) % PAGES;
};
for (let epoch = 1; epoch <= 3; epoch++) {
  const written = new Set();
  for (let i = 0; i < 500 * epoch; i++) {
    const page = random();
    written.add(page);
    memory[page * PAGE + (i % PAGE)] = epoch;
  }
  const t0 = performance.now();
  const dirty = region.dirtyPages({ reset: true });
  const ms = performance.now() - t0;
  // Save the dirty pages (a real program would write them to disk or send them away).
  const saved = dirty.map((p) => p);
  snapshots.push({ pages: saved, bytes: saved.reduce((all, p) => all.concat([memory.slice(p * PAGE, (p + 1) * PAGE)]), []) });
  const exact = dirty.length === written.size && dirty.every((p) => written.has(p));
  console.log(
    `epoch ${epoch}: ${dirty.length} dirty pages of ${PAGES} (${((dirty.length * PAGE) / 2 ** 20).toFixed(1)} MiB to save instead of 64), ` +
      `found in ${ms.toFixed(2)} ms; ${exact ? 'exactly the pages written' : `BUT ${written.size} pages were written`}`,
  );
  if (!exact) process.exitCode = 1;
}

// Rebuild from the snapshots and compare with the live memory.
const rebuilt = new Uint8Array(PAGES * PAGE);
for (const s of snapshots) s.pages.forEach((p, i) => rebuilt.set(s.bytes[i], p * PAGE));
const same = Buffer.compare(Buffer.from(rebuilt), Buffer.from(memory.buffer, memory.byteOffset, memory.byteLength)) === 0;
console.log(`rebuilt from ${snapshots.length} incremental snapshots: ${same ? 'identical to the live memory' : 'DIFFERENT'}`);
await handler.close();
if (!same) process.exit(1);
