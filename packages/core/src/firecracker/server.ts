/**
 * A Firecracker-compatible page-fault handler, for embedding (the CLI
 * `faultline firecracker` is a thin shell around it).
 *
 * Protocol (Firecracker's docs/snapshotting/handling-page-faults-on-snapshot-resume.md):
 * the handler listens on a Unix socket; on snapshot restore Firecracker
 * connects, sends one message (the GuestRegionUffdMapping JSON, see
 * handshake.ts) with its uffd attached, and closes its end. From then on every
 * fault is served through the uffd: page at `offset + (address - base)` of the
 * memory file, zero pages for ranges the balloon discarded (UFFD_EVENT_REMOVE;
 * FaultHandler.adopt applies it, including the EAGAIN-while-REMOVE-pending
 * rule). Nothing else is said on the socket, so the end of a VM is seen through
 * its process (a pidfd watched by UnixServer, ../ipc/unix-server.ts), not through the socket.
 *
 * One FaultHandler serves every client; each client's uffd is adopted with its
 * regions. A misbehaving client is logged and dropped (its fds closed) without
 * touching the others.
 */
import { closeSync, statSync } from 'node:fs';
import { EventEmitter } from 'eventemitter3';
import native from '@faultline/native';
import { closeQuietly } from '../fds.js';
import { UnixServer, type UnixServerEvent, type UnixServerMessage } from '../ipc/unix-server.js';
import { FaultHandler } from '../handler/handler.js';
import { hugePageSizes } from '../handler/config.js';
import type { AdoptedUffd } from '../handler/adopted.js';
import { FaultlineError } from '../errors.js';
import { checkRegularFile } from '../file-check.js';
import { checkOptions, optionNames } from '../validate.js';
import type { ResolverSpec } from '../resolver.js';
import * as resolvers from '../resolvers/index.js';
import { parseHandshake, pickUffd, type GuestRegionMapping } from './handshake.js';
import { writeTrace, type TraceFile } from '../trace/trace-file.js';

export interface FirecrackerServerOptions {
  /** Where to listen (must not exist; created 0600, removed on close). */
  socketPath: string;
  /** The snapshot's memory file: every region is served from it at its offset. */
  memFile?: string;
  /** Instead of memFile: any resolver; request offsets are `offset + (address - base)`. */
  resolver?: ResolverSpec;
  /** With `resolver`: bytes it can serve (regions beyond are refused). Default: unchecked. */
  memorySize?: number;
  /** Serve through this handler (left open by close()); default: one is created with `workers`. */
  handler?: FaultHandler;
  /** Worker threads of the handler created here. Default 2. */
  workers?: number;
  /** Pages installed per fault. Default 1. */
  readahead?: number;
  /** Only peers with these uids (SO_PEERCRED) are served. Default: any. */
  allowUids?: number[];
  /** Largest handshake accepted, bytes. Default 65536. */
  maxMessageBytes?: number;
  /** A client must send its handshake within this time. Default 5000 ms. */
  handshakeTimeoutMs?: number;
  /** One line per client event; `false`: silent. Default: stderr. */
  log?: ((line: string) => void) | false;
  /** Close on SIGTERM/SIGINT (then the process can exit). Default false. */
  handleSignals?: boolean;
  /**
   * Record each client's first touches and write them to this trace file
   * when it exits (with the memory file's pages when serving `memFile`), for
   * `prefetch` on the next restore of the same snapshot. The last client to
   * exit wins: record one VM at a time.
   */
  record?: string;
  /**
   * A trace (readTrace()) whose working set is installed ahead of the faults
   * of every client whose regions match it (same count, sizes and page sizes).
   */
  prefetch?: TraceFile;
}

/** Every FirecrackerServerOptions key (others are refused as likely misspellings). */
const SERVER_OPTION_KEYS = optionNames<FirecrackerServerOptions>()(
  'socketPath', 'memFile', 'resolver', 'memorySize', 'handler', 'workers', 'readahead',
  'allowUids', 'maxMessageBytes', 'handshakeTimeoutMs', 'log', 'handleSignals', 'record', 'prefetch',
);

/** A client being served. */
export interface FirecrackerClient {
  connection: number;
  pid: number;
  uid: number;
  regions: GuestRegionMapping[];
  adopted: AdoptedUffd;
}

export interface FirecrackerRejection {
  connection: number;
  pid?: number;
  uid?: number;
  code: string;
  message: string;
}

export interface FirecrackerServerEvents {
  client: [FirecrackerClient];
  rejected: [FirecrackerRejection];
  exit: [FirecrackerClient];
  error: [Error];
}

const MiB = 1024 * 1024;

export class FirecrackerServer extends EventEmitter<FirecrackerServerEvents> {
  readonly socketPath: string;
  readonly handler: FaultHandler;
  private readonly socket: UnixServer;
  /** Clients by connection; the promise settles once adopt() did. */
  private readonly clients = new Map<number, Promise<FirecrackerClient | undefined>>();
  private readonly log: (line: string) => void;
  private readonly ownsHandler: boolean;
  private readonly resolver: ResolverSpec;
  private readonly memorySize: number | undefined;
  private readonly readahead: number;
  private readonly memFile: string | undefined;
  private readonly recordPath: string | undefined;
  private readonly prefetch: TraceFile | undefined;
  private closing: Promise<void> | undefined;
  private readonly onSignal = (): void => void this.close();

  /** @internal use serveFirecracker() */
  constructor(options: FirecrackerServerOptions, handler: FaultHandler, ownsHandler: boolean) {
    super();
    this.socketPath = options.socketPath;
    this.handler = handler;
    this.ownsHandler = ownsHandler;
    this.readahead = options.readahead ?? 1;
    this.memFile = options.memFile;
    this.recordPath = options.record;
    this.prefetch = options.prefetch;
    const log = options.log ?? ((line: string) => process.stderr.write(`faultline firecracker: ${line}\n`));
    this.log = log === false ? () => undefined : log;
    if (options.memFile !== undefined) {
      this.resolver = resolvers.snapshot(options.memFile);
      this.memorySize = statSync(options.memFile).size;
    } else {
      this.resolver = options.resolver!;
      this.memorySize = options.memorySize;
    }
    handler.on('error', this.onResolverError);
    this.socket = new UnixServer(
      options.socketPath,
      {
        mode: 0o600,
        ...(options.allowUids ? { allowUids: options.allowUids } : {}),
        ...(options.maxMessageBytes ? { maxMessageBytes: options.maxMessageBytes } : {}),
        ...(options.handshakeTimeoutMs ? { handshakeTimeoutMs: options.handshakeTimeoutMs } : {}),
      },
      (event) => this.onSocketEvent(event),
    );
    if (options.handleSignals) {
      process.once('SIGTERM', this.onSignal);
      process.once('SIGINT', this.onSignal);
    }
  }

  /** Clients served right now. */
  async servedClients(): Promise<FirecrackerClient[]> {
    const all = await Promise.all(this.clients.values());
    return all.filter((c): c is FirecrackerClient => c !== undefined);
  }

  /**
   * Stops listening (socket file removed), stops serving every client (their
   * uffds are closed: pages they never touched will read as zero, so close
   * only once the VMs are gone or fully loaded) and closes the handler if it
   * was created here. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    process.off('SIGTERM', this.onSignal);
    process.off('SIGINT', this.onSignal);
    this.socket.close();
    const clients = await this.servedClients();
    if (clients.length > 0) {
      this.log(`closing with ${clients.length} client(s) still served (pids ${clients.map((c) => c.pid).join(', ')})`);
    }
    await Promise.all(clients.map((c) => c.adopted.close().catch(() => undefined)));
    this.clients.clear();
    this.handler.off('error', this.onResolverError);
    if (this.ownsHandler) await this.handler.close();
    this.log(`closed ${this.socketPath}`);
  }

  private readonly onResolverError = (err: Error): void => {
    this.log(`resolver failure: ${(err as FaultlineError).code ?? ''} ${err.message}`);
    this.emit('error', err);
  };

  private onSocketEvent(event: UnixServerEvent): void {
    switch (event.kind) {
      case 'message':
        this.clients.set(event.connection, this.serve(event));
        return;
      case 'exited':
        void this.onExit(event.connection);
        return;
      case 'rejected':
        this.reject({ connection: event.connection, pid: event.pid, uid: event.uid, code: socketCode(event.code), message: event.message });
        return;
      case 'error':
        this.log(`socket: ${event.code}: ${event.message}`);
        this.emit('error', new FaultlineError(event.code, event.message));
        return;
    }
  }

  private reject(r: FirecrackerRejection): void {
    const who = r.pid === undefined ? `client ${r.connection}` : `client ${r.connection} (pid ${r.pid}, uid ${r.uid})`;
    this.log(`${who} rejected: ${r.code}: ${r.message}`);
    this.emit('rejected', r);
  }

  /** Validates the handshake and adopts the uffd; any failure closes every fd it came with. */
  private async serve(msg: UnixServerMessage): Promise<FirecrackerClient | undefined> {
    // Firecracker says nothing more on the socket (and closes its end).
    closeSync(msg.fd);
    try {
      if (this.closing) throw new FaultlineError('ERR_FAULTLINE_CLOSED', 'the server is closing');
      const regions = parseHandshake(msg.payload, {
        pageSize: this.handler.pageSize,
        hugePageSizes: hugePageSizes(),
        ...(this.memorySize !== undefined ? { memorySize: this.memorySize } : {}),
      });
      const uffd = pickUffd(msg.fds, native.isUserfaultfd);
      const plans = this.prefetchPlans(regions, msg.connection);
      const adopted = await this.handler.adopt(uffd, {
        regions: regions.map((r, i) => ({
          address: r.address,
          size: r.size,
          offset: r.offset,
          pageSize: r.pageSize,
          resolver: this.resolver,
          readahead: this.readahead,
          name: `fc-${msg.connection}-${i}`,
          ...(this.recordPath !== undefined ? { record: true } : {}),
          ...(plans ? { prefetch: plans[i] } : {}),
        })),
      });
      if (plans) void this.logPrefetch(msg.connection, adopted);
      const client: FirecrackerClient = { connection: msg.connection, pid: msg.pid, uid: msg.uid, regions, adopted };
      const total = regions.reduce((sum, r) => sum + r.size, 0);
      this.log(
        `client ${msg.connection} (pid ${msg.pid}, uid ${msg.uid}): serving ${regions.length} region(s), ` +
          `${(total / MiB).toFixed(1)} MiB` +
          (msg.watched ? '' : ' (its exit cannot be watched: close it yourself)'),
      );
      this.emit('client', client);
      return client;
    } catch (err) {
      for (const fd of msg.fds) closeQuietly(fd);
      this.socket.unwatch(msg.connection);
      this.clients.delete(msg.connection);
      const e = err as FaultlineError;
      this.reject({ connection: msg.connection, pid: msg.pid, uid: msg.uid, code: e.code ?? 'ERR_FAULTLINE_FC', message: e.message });
      return undefined;
    }
  }

  /** The prefetch trace's regions for a client, if they describe its memory (else on-demand only, said in the log). */
  private prefetchPlans(regions: GuestRegionMapping[], connection: number): TraceFile['regions'] | undefined {
    const trace = this.prefetch;
    if (!trace) return undefined;
    const matches =
      trace.regions.length === regions.length &&
      trace.regions.every((t, i) => t.size === regions[i]!.size && t.pageSize === regions[i]!.pageSize);
    if (!matches) {
      this.log(`client ${connection}: the prefetch trace does not match its regions (count, sizes, page sizes): serving on demand only`);
      return undefined;
    }
    return trace.regions;
  }

  private async logPrefetch(connection: number, adopted: AdoptedUffd): Promise<void> {
    const reports = await adopted.prefetched();
    const sum = (k: 'pages' | 'installed' | 'installedOnFaults' | 'alreadyPresent' | 'cancelled' | 'failed'): number => reports.reduce((n, r) => n + r[k], 0);
    const ms = Math.max(...reports.map((r) => r.ms));
    this.log(
      `client ${connection}: prefetched ${sum('installed')} of ${sum('pages')} pages in ${ms.toFixed(1)} ms ` +
        `(${sum('alreadyPresent')} already present, ${sum('cancelled')} cancelled, ${sum('failed')} failed; ` +
        `${sum('installedOnFaults')} of the installed came with demand faults)`,
    );
  }

  /** Writes the exiting client's first touches to the record file (before its uffd is released). */
  private async writeRecording(client: FirecrackerClient): Promise<void> {
    try {
      const traces = client.adopted.traces();
      await writeTrace(this.recordPath!, traces, this.memFile !== undefined ? { memFile: this.memFile } : {});
      const pages = traces.reduce((n, t) => n + t.pages.length, 0);
      this.log(`client ${client.connection}: recorded ${pages} first-touch pages to ${this.recordPath}`);
    } catch (err) {
      this.log(`client ${client.connection}: could not write the recording: ${(err as Error).message}`);
      this.emit('error', err as Error);
    }
  }

  /** The VM process is gone: stop serving its uffd. */
  private async onExit(connection: number): Promise<void> {
    const client = await this.clients.get(connection);
    this.clients.delete(connection);
    if (!client) return;
    // Counters move just after the install that woke a thread: let the last ones land before reading them.
    await this.handler.idle(200);
    const totals = client.adopted.stats().reduce(
      (t, s) => ({ faults: t.faults + s.faults, pages: t.pages + s.pagesInstalled, zero: t.zero + s.zeroFills }),
      { faults: 0, pages: 0, zero: 0 },
    );
    if (this.recordPath !== undefined) await this.writeRecording(client);
    await client.adopted.close().catch((err: Error) => this.log(`client ${connection}: close failed: ${err.message}`));
    this.log(
      `client ${connection} (pid ${client.pid}) exited: ${totals.faults} faults, ${totals.pages} pages installed ` +
        `(${totals.zero} zero-filled)`,
    );
    this.emit('exit', client);
  }
}

/** The socket layer's codes, in this module's vocabulary where they match. */

function socketCode(code: string): string {
  return code === 'ERR_FAULTLINE_SOCKET_TOO_LARGE' ? 'ERR_FAULTLINE_FC_TOO_LARGE' : code;
}

/** Starts a Firecracker page-fault handler on `options.socketPath`. */
export async function serveFirecracker(options: FirecrackerServerOptions): Promise<FirecrackerServer> {
  checkOptions('serveFirecracker()', options, SERVER_OPTION_KEYS);
  if (typeof options.socketPath !== 'string' || options.socketPath === '') {
    throw new FaultlineError('ERR_FAULTLINE_INVALID_ARGUMENT', 'serveFirecracker() needs { socketPath }');
  }
  if ((options.memFile === undefined) === (options.resolver === undefined)) {
    throw new FaultlineError('ERR_FAULTLINE_INVALID_ARGUMENT', 'serveFirecracker() needs exactly one of memFile or resolver');
  }
  if (options.memFile !== undefined) {
    const size = checkRegularFile('the memory file', options.memFile);
    if (size === 0) throw new FaultlineError('ERR_FAULTLINE_INVALID_ARGUMENT', `the memory file ${options.memFile} is empty`);
  }
  const ownsHandler = options.handler === undefined;
  const handler = options.handler ?? (await FaultHandler.create({ workers: options.workers ?? 2 }));
  try {
    return new FirecrackerServer(options, handler, ownsHandler);
  } catch (err) {
    if (ownsHandler) await handler.close();
    throw err;
  }
}
