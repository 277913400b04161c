/**
 * 'error' events nobody listens to. EventEmitter3 (unlike Node's
 * EventEmitter) neither throws nor prints when 'error' has no listener: it
 * drops the event, and a resolver failing under onError 'zero' (or a worker
 * dying and being replaced) would show only in stats(). So the first error
 * of each code is written to stderr with what to do about it; later ones of
 * the same code are not, so that a flood of failures stays one line each.
 */
import type { FaultlineError } from '../errors.js';

export class UnheardErrors {
  private readonly said = new Set<string>();

  constructor(
    /** Where the line goes (synchronous: the process may be about to die). */
    private readonly write: (line: string) => void,
  ) {}

  /** Writes `err` once per code. */
  report(err: FaultlineError): void {
    const code = String(err.code);
    if (this.said.has(code)) return;
    this.said.add(code);
    this.write(
      `faultline: unhandled 'error' ${code}: ${err.message} ` +
        `(no 'error' listener on this FaultHandler; further ${code} errors are not printed: ` +
        "add handler.on('error', ...) to see each one and silence this)\n",
    );
  }
}
