// Any thread may fault: here two worker_threads and the main thread read the same
// lazily-generated region at once. Each page is produced once; the losers of a
// race are simply woken when it is there.
//
//   node examples/worker-threads.mjs
import { Worker } from 'node:worker_threads';
import { FaultHandler, resolvers, patternWord } from '@faultline/core';

const handler = await FaultHandler.create({ workers: 2 });
try {
  const region = await handler.map({ size: 16 << 20, resolver: resolvers.pattern({ seed: 11 }) });
  const reader = `
    const { workerData, parentPort } = require('node:worker_threads');
    const words = new Uint32Array(workerData);
    let sum = 0;
    for (let i = 0; i < words.length; i += 1024) sum = (sum + words[i]) >>> 0;
    parentPort.postMessage(sum);`;
  const sums = [0, 1].map(() => {
    const w = new Worker(reader, { eval: true, workerData: region.buffer });
    return new Promise((resolve, reject) => w.once('message', resolve).once('error', reject));
  });
  const words = new Uint32Array(region.buffer);
  let mine = 0;
  for (let i = 0; i < words.length; i += 1024) mine = (mine + words[i]) >>> 0;
  let expected = 0;
  for (let i = 0; i < words.length; i += 1024) expected = (expected + patternWord(11, i)) >>> 0;
  const theirs = await Promise.all(sums);
  console.log(`checksums: main ${mine}, workers ${theirs.join(', ')}, expected ${expected}`);
  await handler.idle(); // counters are final once nothing is pending
  const s = region.stats();
  console.log(`pages installed ${s.pagesInstalled}, faults ${s.faults} (${s.eexist} lost a race and were woken)`);
  if (mine !== expected || theirs.some((t) => t !== expected)) process.exitCode = 1;
} finally {
  await handler.close();
}
