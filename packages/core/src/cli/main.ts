#!/usr/bin/env node
/**
 * The `faultline` command.
 *
 *   faultline firecracker --socket PATH --mem-file PATH [--workers N] [--readahead N] [--allow-uid N]...
 *   faultline firecracker --socket PATH --mem-url URL [--mem-header 'Name: value']... [--http-chunk BYTES] ...
 *                         [--record TRACE | --prefetch TRACE]
 *
 * Serves Firecracker snapshot restores (see src/firecracker/server.ts) until
 * SIGTERM/SIGINT, then closes cleanly (socket file removed). Bad usage exits 2.
 */
import { parseArgs } from 'node:util';
import { checkRegularFile } from '../file-check.js';
import { serveFirecracker } from '../firecracker/server.js';
import { readTrace } from '../trace/trace-file.js';
import { httpObjectSize } from '../resolvers/http-object-size.js';
import { redactedUrl } from '../resolvers/http-range-options.js';
import { httpRange } from '../resolvers/index.js';

const USAGE = `usage: faultline firecracker --socket PATH --mem-file PATH [--workers N] [--readahead N] [--allow-uid UID]...
       faultline firecracker --socket PATH --mem-url URL [--mem-header 'Name: value']... [--http-chunk BYTES] [...]
       (either one: [--record TRACE | --prefetch TRACE])

  --socket PATH     Unix socket to listen on (created 0600; must not exist)
  --mem-file PATH   the snapshot's guest memory file
  --mem-url URL     instead of --mem-file: the memory file served over HTTP(S) Range requests
                    (an S3 presigned URL, a CDN, nginx...; see docs/resolvers.md, httpRange)
  --mem-header H    a header sent with every --mem-url request, 'Name: value' (repeatable)
  --http-chunk N    bytes per --mem-url request, a multiple of the page size (default 262144)
  --workers N       worker threads serving faults (default 2)
  --readahead N     pages installed per fault (default 1)
  --allow-uid UID   serve only peers with this uid (repeatable; default: any)
  --record TRACE    write each VM's first touches (and those pages) to TRACE when it exits
  --prefetch TRACE  install the working set recorded in TRACE ahead of the faults`;

class UsageError extends Error {}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got '${value}'`);
  return n;
}

/** A memory file that cannot be served is a usage error, found before the socket is created. */
function checkMemFile(path: string): void {
  let size: number;
  try {
    size = checkRegularFile('--mem-file', path);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (size === 0) throw new UsageError(`--mem-file '${path}' is empty; give the snapshot's guest memory file`);
}

async function firecracker(args: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        socket: { type: 'string' },
        'mem-file': { type: 'string' },
        'mem-url': { type: 'string' },
        'mem-header': { type: 'string', multiple: true },
        'http-chunk': { type: 'string' },
        workers: { type: 'string' },
        readahead: { type: 'string' },
        'allow-uid': { type: 'string', multiple: true },
        record: { type: 'string' },
        prefetch: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!values.socket) throw new UsageError('--socket is required');
  const memUrl = values['mem-url'];
  if (!values['mem-file'] === !memUrl) throw new UsageError('exactly one of --mem-file and --mem-url is required');
  if (!memUrl && (values['mem-header'] || values['http-chunk'])) throw new UsageError('--mem-header and --http-chunk go with --mem-url');
  const headers: Record<string, string> = {};
  for (const h of values['mem-header'] ?? []) {
    const colon = h.indexOf(':');
    if (colon < 1) throw new UsageError(`--mem-header must be 'Name: value', got '${h}'`);
    headers[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
  }
  if (values['mem-file'] !== undefined) checkMemFile(values['mem-file']);
  const allowUids = (values['allow-uid'] ?? []).map((u) => {
    if (!/^\d+$/.test(u)) throw new UsageError(`--allow-uid must be a numeric uid, got '${u}'`);
    return Number(u);
  });
  if (values.record !== undefined && values.prefetch !== undefined) {
    throw new UsageError('--record and --prefetch go to different runs: record one restore, prefetch the next');
  }
  let prefetch;
  if (values.prefetch !== undefined) {
    try {
      prefetch = await readTrace(values.prefetch);
    } catch (err) {
      throw new UsageError(`--prefetch: ${(err as Error).message}`);
    }
  }
  // With --mem-url, every region is served by httpRange over the whole
  // object (the handshake's offsets are added to each fault's offset, as
  // for the memory file); its size, asked once here, lets handshakes that
  // reach past it be refused up front, and a wrong URL fail at startup.
  const source = memUrl
    ? {
        resolver: httpRange(memUrl, { headers, ...(values['http-chunk'] ? { chunk: positiveInt('http-chunk', values['http-chunk'], 0) } : {}) }),
        memorySize: await httpObjectSize(memUrl, { headers }),
      }
    : { memFile: values['mem-file']! };
  const server = await serveFirecracker({
    socketPath: values.socket,
    ...source,
    workers: positiveInt('workers', values.workers, 2),
    readahead: positiveInt('readahead', values.readahead, 1),
    ...(allowUids.length > 0 ? { allowUids } : {}),
    ...(values.record !== undefined ? { record: values.record } : {}),
    ...(prefetch ? { prefetch } : {}),
    handleSignals: true,
  });
  process.stderr.write(
    `faultline firecracker: listening on ${server.socketPath}, serving ${memUrl ? redactedUrl(memUrl) : values['mem-file']} ` +
      `(pid ${process.pid}; SIGTERM or Ctrl-C to stop)\n`,
  );
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  try {
    if (command === 'firecracker') return await firecracker(rest);
    if (command === undefined || command === '--help' || command === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exitCode = command === undefined ? 2 : 0;
      return;
    }
    throw new UsageError(`unknown command '${command}'`);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`faultline: ${err.message}\n${USAGE}\n`);
      process.exitCode = 2;
      return;
    }
    const e = err as Error & { code?: string };
    process.stderr.write(`faultline: ${e.code ? `${e.code}: ` : ''}${e.message}\n`);
    process.exitCode = 1;
  }
}

await main(process.argv.slice(2));
