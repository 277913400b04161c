// The restore-http scenario's object store: an HTTP server on 127.0.0.1
// serving the snapshot's memory file with Range support, each answer held
// back `latencyMs` (a stand-in for the network round trip to S3 or a CDN).
// It runs in a worker thread of its own: the handler's threads fetch from it
// while the bench's main thread awaits them, and its own event loop keeps the
// added latency from queueing behind the bench's work.
//
// Requests are counted in a SharedArrayBuffer, readable at any moment from
// the main thread, so each variant's request count is the difference around
// its round.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

/** Slots of the shared counters. */
const REQUESTS = 0;
const BYTES_KIB = 1;

interface ServerData {
  rangeServer: true;
  file: string;
  path: string;
  latencyMs: number;
  counts: Int32Array;
}

export interface RangeServer {
  /** The object's URL. */
  url: string;
  /** Requests answered or being answered so far. */
  requests(): number;
  /** KiB of bodies sent so far. */
  kibSent(): number;
  close(): Promise<void>;
}

/** Serves `file` (read into memory once) at http://127.0.0.1:PORT/snapshot/mem.bin. */
export async function startRangeServer(file: string, latencyMs: number): Promise<RangeServer> {
  const counts = new Int32Array(new SharedArrayBuffer(8));
  const path = '/snapshot/mem.bin';
  const data: ServerData = { rangeServer: true, file, path, latencyMs, counts };
  const worker = new Worker(new URL(import.meta.url), { workerData: data });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', (m: { port: number }) => resolve(m.port));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the range server's thread exited (code ${code}) before listening`)));
  });
  return {
    url: `http://127.0.0.1:${port}${path}`,
    requests: () => Atomics.load(counts, REQUESTS),
    kibSent: () => Atomics.load(counts, BYTES_KIB),
    close: async () => void (await worker.terminate()),
  };
}

function answer(object: Buffer, path: string, req: IncomingMessage, res: ServerResponse, counts: Int32Array): void {
  if ((req.url ?? '').split('?')[0] !== path) return void res.writeHead(404).end();
  const size = object.length;
  const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
  let body: Buffer;
  if (m === null) {
    body = object;
    res.writeHead(200, { 'content-length': size, 'accept-ranges': 'bytes' });
  } else {
    const first = Number(m[1]);
    if (first >= size) return void res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
    const last = Math.min(Number(m[2]), size - 1);
    body = object.subarray(first, last + 1);
    res.writeHead(206, { 'content-range': `bytes ${first}-${last}/${size}`, 'content-length': body.length });
  }
  Atomics.add(counts, BYTES_KIB, Math.round(body.length / 1024));
  res.end(body);
}

function serve({ file, path, latencyMs, counts }: ServerData): void {
  const object = readFileSync(file);
  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    Atomics.add(counts, REQUESTS, 1);
    if (latencyMs > 0) setTimeout(() => answer(object, path, req, res, counts), latencyMs);
    else answer(object, path, req, res, counts);
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    parentPort!.postMessage({ port: typeof address === 'object' && address !== null ? address.port : 0 });
  });
}

if (!isMainThread && (workerData as Partial<ServerData> | null)?.rangeServer === true) serve(workerData as ServerData);
