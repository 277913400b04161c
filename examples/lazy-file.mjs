// Lazy file-backed memory: a 64 MiB buffer whose pages are read from a file the
// first time any thread touches them. The main thread just reads the buffer;
// Faultline's workers produce each page while it waits.
//
//   node examples/lazy-file.mjs [path]   (default: makes a 64 MiB temp file)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FaultHandler, resolvers } from '@faultline/core';

const SIZE = 64 << 20;
let path = process.argv[2];
let cleanup = () => {};
if (!path) {
  const dir = mkdtempSync(join(tmpdir(), 'faultline-example-'));
  path = join(dir, 'data.bin');
  const data = Buffer.alloc(SIZE);
  for (let off = 0; off < SIZE; off += 4096) data.write(`page ${off / 4096}\n`, off);
  writeFileSync(path, data);
  cleanup = () => rmSync(dir, { recursive: true, force: true });
}

const handler = await FaultHandler.create({ workers: 2 });
try {
  const region = await handler.map({ size: SIZE, resolver: resolvers.file(path), readahead: 8, name: 'lazy-file' });
  const bytes = Buffer.from(region.buffer);
  // Touch three pages far apart: only those (and their readahead) are read from the file.
  for (const page of [0, 5000, 16383]) {
    const line = bytes.subarray(page * 4096, page * 4096 + 16).toString('latin1').split('\n')[0];
    console.log(`page ${page}: "${line}"`);
  }
  await handler.idle(); // counters are final once nothing is pending
  const s = region.stats();
  console.log(`faults ${s.faults}, pages installed ${s.pagesInstalled} of ${SIZE / 4096}, resolver calls ${s.resolverCalls}`);
} finally {
  await handler.close();
  cleanup();
}
