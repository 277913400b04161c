/**
 * The worker's end of the control channel: resolver load/drop requests from
 * the main thread. They arrive on a MessagePort, but a serve loop parked in a
 * syscall cannot run its event loop, so the main thread also bumps the control
 * block's seq and wakes the loops; a loop that sees seq move drains the port
 * synchronously (receiveMessageOnPort) between faults.
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { ControlBlock } from '../shared/control-block.js';
import { toWireError, type FromWorker, type ToWorker } from './protocol.js';
import type { ResolverRegistry } from './resolver-registry.js';
import type { ScratchPool } from './scratch.js';

export class ControlChannel {
  private seen = 0;

  constructor(
    private readonly port: MessagePort,
    private readonly control: ControlBlock,
    private readonly worker: number,
    private readonly pageSize: number,
    private readonly resolvers: ResolverRegistry,
    private readonly scratch: ScratchPool,
    private readonly post: (msg: FromWorker) => void,
  ) {}

  /** The control seq as of the last drain (a waiter returns as soon as it moves). */
  seenSeq(): number {
    return this.seen;
  }

  /** True when main posted something this loop has not drained yet. */
  pending(): boolean {
    return this.control.seq() !== this.seen;
  }

  /** Handles every message waiting on the port. */
  async drain(): Promise<void> {
    this.seen = this.control.seq();
    for (;;) {
      const packet = receiveMessageOnPort(this.port);
      if (!packet) return;
      await this.handle(packet.message as ToWorker);
    }
  }

  private async handle(msg: ToWorker): Promise<void> {
    const worker = this.worker;
    if (msg.type === 'load-resolver') {
      try {
        // The region's own page size: a huge page region's resolver works in huge pages.
        const pageSize = msg.pageSize ?? this.pageSize;
        this.scratch.ensure(msg.readahead * pageSize);
        await this.resolvers.load(msg.regionId, msg.spec, {
          pageSize,
          regionSize: msg.regionSize,
          regionId: msg.regionId,
          name: msg.name,
          ...(msg.memfd !== undefined ? { memfd: msg.memfd } : {}),
        }, { resolveTimeoutMs: msg.resolveTimeoutMs, retries: msg.retries });
        this.resolvers.setEviction(msg.regionId, msg.eviction);
        this.resolvers.setDirtyBitmap(msg.regionId, msg.dirtyBitmap);
        this.post({ type: 'resolver-loaded', worker, regionId: msg.regionId });
      } catch (err) {
        this.post({ type: 'resolver-loaded', worker, regionId: msg.regionId, error: toWireError(err, 'ERR_FAULTLINE_RESOLVER_LOAD') });
      }
    } else if (msg.type === 'drop-resolver') {
      try {
        await this.resolvers.drop(msg.regionId);
      } finally {
        this.post({ type: 'resolver-dropped', worker, regionId: msg.regionId });
      }
    }
  }
}
