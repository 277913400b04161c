// Where the adopt scenarios' sockets live for one bench run: a fresh socket
// path per C handler round (each handler process listens once), and
// Faultline's listener and Firecracker server, started on first use and kept
// for the run so rounds reuse them like the pooled handlers.
import { join } from 'node:path';
import type { FaultHandler } from '@faultline/core';
import { FirecrackerGate } from './firecracker.js';
import { UffdInbox } from './inbox.js';

export class AdoptHost {
  #sockets = 0;
  #inbox: UffdInbox | null = null;
  #firecracker: Promise<FirecrackerGate> | null = null;

  constructor(private readonly dir: string) {}

  /** A socket path nobody used yet in this run. */
  freshSocketPath(): string {
    return join(this.dir, `adopt-${++this.#sockets}.sock`);
  }

  inbox(): UffdInbox {
    this.#inbox ??= new UffdInbox(join(this.dir, 'faultline-adopt.sock'));
    return this.#inbox;
  }

  /** The Firecracker server; the handler and memory file of the first call serve every later round. */
  firecracker(handler: FaultHandler, memFile: string): Promise<FirecrackerGate> {
    this.#firecracker ??= FirecrackerGate.start(join(this.dir, 'faultline-fc.sock'), memFile, handler);
    return this.#firecracker;
  }

  async close(): Promise<void> {
    this.#inbox?.close();
    this.#inbox = null;
    const fc = this.#firecracker;
    this.#firecracker = null;
    if (fc !== null) await (await fc.catch(() => null))?.close();
  }
}
