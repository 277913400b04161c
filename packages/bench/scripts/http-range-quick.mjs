#!/usr/bin/env node
// Quick measurement (not part of `npm run bench`): resolvers.httpRange from a
// loopback HTTP server that adds a fixed latency to every request, one page
// per request (chunk = page size) against 256 KiB chunks. The main thread
// touches N pages one after another (each touch is a fault); the server runs
// in a worker thread. Prints the median of interleaved rounds.
//
//   node packages/bench/scripts/http-range-quick.mjs [--latency-ms 1] [--pages 4096] [--rounds 3]
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { FaultHandler, resolvers, fillPattern } from '@faultline/core';

const OBJECT = 64 << 20;

if (!isMainThread) {
  const object = Buffer.alloc(OBJECT);
  fillPattern(1, 0, object);
  let requests = 0;
  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    requests++;
    const [, a, b] = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '') ?? [];
    setTimeout(() => {
      const first = Number(a);
      const last = Math.min(Number(b), OBJECT - 1);
      res.writeHead(206, { 'content-range': `bytes ${first}-${last}/${OBJECT}`, 'content-length': last - first + 1 });
      res.end(object.subarray(first, last + 1));
    }, workerData.latencyMs);
  });
  server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
  parentPort.on('message', () => parentPort.postMessage(requests));
} else {
  const { values } = parseArgs({ options: { 'latency-ms': { type: 'string', default: '1' }, pages: { type: 'string', default: '4096' }, rounds: { type: 'string', default: '3' } } });
  const latencyMs = Number(values['latency-ms']);
  const N = Number(values.pages);
  const rounds = Number(values.rounds);
  const worker = new Worker(new URL(import.meta.url), { workerData: { latencyMs } });
  const port = await new Promise((r) => worker.once('message', r));
  const requests = () => new Promise((r) => (worker.once('message', r), worker.postMessage(0)));
  const url = `http://127.0.0.1:${port}/mem`;
  const expected = new Uint8Array(OBJECT);
  fillPattern(1, 0, expected);

  const handler = await FaultHandler.create({ workers: 2 });
  const ps = handler.pageSize;
  // Orders: N pages in a row; N pages spread pseudo-randomly over the 64 MiB object, in pseudo-random order.
  const sequential = Array.from({ length: N }, (_, i) => i);
  const scattered = [];
  const used = new Set();
  for (let x = 12345; scattered.length < N; ) {
    // xorshift32: stays in 32-bit integers (an LCG in doubles loses bits and cycles)
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const p = x % (OBJECT / ps);
    if (!used.has(p)) used.add(p), scattered.push(p);
  }
  const configs = [
    ['chunk = page (one request per fault)', { chunk: ps, cacheChunks: 64 }],
    ['chunk 256 KiB (defaults)', {}],
    ['chunk 256 KiB, cacheChunks 256 (whole object)', { cacheChunks: 256 }],
  ];
  const results = new Map();
  for (let round = 0; round < rounds; round++) {
    for (const [orderName, order] of [['sequential', sequential], ['scattered', scattered]]) {
      for (const [name, options] of configs) {
        const region = await handler.map({ size: OBJECT, resolver: resolvers.httpRange(url, options) });
        const view = new Uint8Array(region.buffer);
        const before = await requests();
        const t0 = process.hrtime.bigint();
        let sum = 0;
        for (const p of order) sum += view[p * ps];
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        const reqs = (await requests()) - before;
        for (const p of order.slice(0, 64)) if (view[p * ps + 7] !== expected[p * ps + 7]) throw new Error(`wrong byte in page ${p}`);
        await region.unmap();
        const key = `${orderName.padEnd(10)} | ${name}`;
        if (!results.has(key)) results.set(key, []);
        results.get(key).push({ ms, reqs, sum });
      }
    }
  }
  console.log(`${N} pages touched one after another by the main thread, ${latencyMs} ms added per request, median of ${rounds}:`);
  for (const [key, runs] of results) {
    const ms = runs.map((r) => r.ms).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
    console.log(`${key.padEnd(62)} ${ms.toFixed(0).padStart(6)} ms  ${(N / (ms / 1000)).toFixed(0).padStart(7)} pages/s  ${runs[0].reqs} requests`);
  }
  await handler.close();
  await worker.terminate();
}
