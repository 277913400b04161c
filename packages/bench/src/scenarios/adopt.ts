// Adopt scenarios: the faulting memory belongs to ANOTHER process
// (faultline_adopt_child), which hands its uffd over a Unix socket as
// Firecracker does. Faultline serves it through the public API
// (listenForUffds + handler.adopt, or serveFirecracker); the references are a
// C handler process (faultline_adopt_handler) serving the same child,
// blocking or busy-polling. Every round checks the child's checksum, and CPU
// per page counts both processes: the child's and the handler's.
import { closeSync, writeSync } from 'node:fs';
import type { AdoptedUffd, FaultHandler, UffdConnection } from '@faultline/core';
import { startAdoptChild, type AdoptChild, type AdoptChildOptions, type AdoptChildResult } from '../adopt/child.js';
import { startAdoptHandler } from '../adopt/c-handler.js';
import { resolverFor, type Content } from '../faultline.js';
import type { RoundSample, Target } from '../results.js';
import { checkContent, type BenchContext, type Scenario } from './types.js';

const WORKERS = 2;

export interface AdoptSpec {
  name: string;
  description: string;
  order: 'sequential' | 'random';
  threads: number;
  /** 'faultline': listenForUffds + adopt, pattern content; 'firecracker': serveFirecracker, the memory file's content. */
  handshake: 'faultline' | 'firecracker';
  quick: boolean;
  targets: Target[];
}

function contentOf(spec: AdoptSpec): Content {
  return spec.handshake === 'firecracker' ? 'file' : 'pattern';
}

function childOptions(spec: AdoptSpec, ctx: BenchContext, socket: string, go: AdoptChildOptions['go']): AdoptChildOptions {
  return { socket, size: ctx.size, order: spec.order, threads: spec.threads, seed: ctx.seed, handshake: spec.handshake, go };
}

/** Resolves with `value`, or rejects as soon as the child fails (so a broken child never waits out a timeout). */
export function unlessChildFails<T>(child: AdoptChild, value: Promise<T>, waitingFor: string): Promise<T> {
  const failed = child.program.exited.then(() => {
    throw new Error(`faultline_adopt_child ended while the bench waited for ${waitingFor}`);
  });
  failed.catch(() => undefined);
  return Promise.race([value, failed]);
}

function sample(r: AdoptChildResult, faults: number, resolverCalls: number | null, handlerCpuNs: number): RoundSample {
  return {
    elapsedNs: r.elapsedNs,
    pages: r.pages,
    faults,
    p50Ns: r.p50Ns,
    p99Ns: r.p99Ns,
    resolverCalls,
    rssDeltaKb: null, // the pages live in the child, not in the handling process
    cpuNs: r.cpuNs + handlerCpuNs,
  };
}

/** The region the child described: {address, size} in its one JSON line. */
function describedRegion(connection: UffdConnection): { address: number; size: number } {
  const text = connection.payload.toString('utf8');
  const region = JSON.parse(text) as { address?: unknown; size?: unknown };
  if (typeof region.address !== 'number' || typeof region.size !== 'number') {
    throw new Error(`the adopt child's handshake names no region {address, size}: ${text}`);
  }
  return { address: region.address, size: region.size };
}

/** Cumulative CPU of this Node process (every thread: reader, workers), in ns. */
export function processCpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

async function listenerRound(spec: AdoptSpec, ctx: BenchContext, handler: FaultHandler): Promise<RoundSample> {
  const inbox = ctx.adopt.inbox();
  const child = startAdoptChild(childOptions(spec, ctx, inbox.path, 'socket'));
  try {
    const connection = await unlessChildFails(child, inbox.next(child.program.pid), 'its uffd');
    try {
      let adopted: AdoptedUffd;
      try {
        adopted = await handler.adopt(connection.uffd, {
          regions: [{ ...describedRegion(connection), resolver: resolverFor('pattern', ctx.seed, ctx.file), name: spec.name }],
        });
      } catch (err) {
        closeSync(connection.uffd); // not adopted: still ours to close
        throw err;
      }
      try {
        const cpuBefore = processCpuNs();
        writeSync(connection.socketFd, 'go\n');
        const r = await child.result;
        const cpuNs = processCpuNs() - cpuBefore;
        await child.program.exited;
        await handler.idle(); // counters are bumped just after the install: let the last one land
        const [stats] = adopted.stats();
        checkContent(spec.name, 'Faultline handler (adopt)', r.checksum, ctx.expectedChecksum('pattern'));
        return sample(r, stats?.faults ?? 0, stats?.resolverCalls ?? null, cpuNs);
      } finally {
        await adopted.close();
      }
    } finally {
      connection.close();
    }
  } finally {
    child.program.kill();
  }
}

async function firecrackerRound(spec: AdoptSpec, ctx: BenchContext, handler: FaultHandler): Promise<RoundSample> {
  const gate = await ctx.adopt.firecracker(handler, ctx.file);
  // serveFirecracker never writes to its client: "go" comes on the child's stdin.
  const child = startAdoptChild(childOptions(spec, ctx, gate.path, 'stdin'));
  try {
    const client = await unlessChildFails(child, gate.client(child.program.pid), 'serveFirecracker to adopt its uffd');
    const cpuBefore = processCpuNs();
    child.go();
    const r = await child.result;
    const cpuNs = processCpuNs() - cpuBefore;
    await handler.idle();
    // Read while the child lives: the server stops serving (and counting) once it exits.
    const [stats] = client.adopted.stats();
    child.release();
    await child.program.exited;
    await gate.exited(child.program.pid);
    checkContent(spec.name, 'Faultline Firecracker server', r.checksum, ctx.expectedChecksum('file'));
    return sample(r, stats?.faults ?? 0, stats?.resolverCalls ?? null, cpuNs);
  } finally {
    child.program.kill();
  }
}

async function faultlineRound(spec: AdoptSpec, ctx: BenchContext): Promise<RoundSample> {
  if (ctx.handlers === null) throw new Error('internal: Faultline side run without @faultline/core');
  const handler = await ctx.handlers.get(WORKERS);
  return spec.handshake === 'firecracker' ? firecrackerRound(spec, ctx, handler) : listenerRound(spec, ctx, handler);
}

async function cHandlerRound(spec: AdoptSpec, ctx: BenchContext, mode: 'blocking' | 'busy'): Promise<RoundSample> {
  const socket = ctx.adopt.freshSocketPath();
  const content = contentOf(spec);
  const handler = startAdoptHandler({ socket, mode, content, seed: ctx.seed, ...(content === 'file' ? { file: ctx.file } : {}) });
  // The C handler writes "go" on the socket whatever the handshake format.
  const child = startAdoptChild(childOptions(spec, ctx, socket, 'socket'));
  try {
    const [r, h] = await Promise.all([child.result, handler.result]);
    await Promise.all([child.program.exited, handler.program.exited]);
    checkContent(spec.name, `C ${mode} handler process (adopt)`, r.checksum, ctx.expectedChecksum(content));
    return sample(r, h.faults, null, h.cpuNs);
  } finally {
    child.program.kill();
    handler.program.kill();
  }
}

export function adoptScenario(spec: AdoptSpec): Scenario {
  return {
    name: spec.name,
    group: 'adopt (another process)',
    description: spec.description,
    unit: 'pages/s',
    quick: spec.quick,
    targets: spec.targets,
    pages: (ctx) => ctx.size / ctx.pageSize,
    references: {
      baseline: (ctx) => cHandlerRound(spec, ctx, 'blocking'),
      limit: (ctx) => cHandlerRound(spec, ctx, 'busy'),
    },
    faultline: (ctx) => faultlineRound(spec, ctx),
  };
}
