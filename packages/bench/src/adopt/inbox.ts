// Faultline's side of the adopt scenarios: uffds handed over a Unix socket,
// received with @faultline/core's listenForUffds, by the pid of the child
// that sent them.
import { listenForUffds, type UffdConnection, type UffdListener } from '@faultline/core';
import { PidMailbox } from './pid-mailbox.js';

export class UffdInbox {
  readonly #mail = new PidMailbox<UffdConnection>('uffd handshake');
  readonly #listener: UffdListener;

  constructor(readonly path: string) {
    this.#listener = listenForUffds(
      path,
      {},
      (connection) => this.#mail.deliver(connection.pid, connection),
      (reason) => {
        const err = new Error(`listenForUffds turned the child away: ${reason.code}: ${reason.message}`);
        if (reason.pid !== undefined) this.#mail.fail(reason.pid, err);
      },
    );
  }

  /** The connection of child `pid` once its handshake (with its uffd) arrived. */
  next(pid: number, timeoutMs?: number): Promise<UffdConnection> {
    return this.#mail.take(pid, timeoutMs);
  }

  close(): void {
    this.#listener.close();
  }
}
