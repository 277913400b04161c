// The adopt-fc scenario's Faultline side: @faultline/core's serveFirecracker
// on the bench's socket, serving the memory file through a pooled handler.
// Rounds find their client (and its exit) by the child's pid.
import { serveFirecracker, type FaultHandler, type FirecrackerClient, type FirecrackerServer } from '@faultline/core';
import { PidMailbox } from './pid-mailbox.js';

export class FirecrackerGate {
  readonly #clients = new PidMailbox<FirecrackerClient>('Firecracker handshake');
  readonly #exits = new PidMailbox<FirecrackerClient>('exit');

  private constructor(private readonly server: FirecrackerServer) {
    server.on('client', (c) => this.#clients.deliver(c.pid, c));
    server.on('exit', (c) => this.#exits.deliver(c.pid, c));
    server.on('rejected', (r) => {
      if (r.pid !== undefined) this.#clients.fail(r.pid, new Error(`serveFirecracker rejected the child: ${r.code}: ${r.message}`));
    });
  }

  static async start(socketPath: string, memFile: string, handler: FaultHandler): Promise<FirecrackerGate> {
    return new FirecrackerGate(await serveFirecracker({ socketPath, memFile, handler, log: false }));
  }

  get path(): string {
    return this.server.socketPath;
  }

  /** Child `pid`, once its uffd is adopted. */
  client(pid: number): Promise<FirecrackerClient> {
    return this.#clients.take(pid);
  }

  /** Resolves once the server saw child `pid` exit and stopped serving it. */
  exited(pid: number): Promise<FirecrackerClient> {
    return this.#exits.take(pid);
  }

  close(): Promise<void> {
    return this.server.close();
  }
}
