// Values that arrive from a socket server keyed by the peer's pid (a handed
// over uffd, a Firecracker client, its exit), for a round that knows the pid
// of the child it started. A value may arrive before or after it is asked
// for; asking waits at most `timeoutMs` so a child that never connects fails
// the round instead of hanging it.
export class PidMailbox<T> {
  readonly #arrived = new Map<number, { value: T } | { error: Error }>();
  readonly #waiting = new Map<number, { resolve: (v: T) => void; reject: (e: Error) => void }>();

  constructor(private readonly what: string) {}

  deliver(pid: number, value: T): void {
    this.#settle(pid, { value });
  }

  fail(pid: number, error: Error): void {
    this.#settle(pid, { error });
  }

  take(pid: number, timeoutMs = 10_000): Promise<T> {
    const arrived = this.#arrived.get(pid);
    if (arrived !== undefined) {
      this.#arrived.delete(pid);
      return 'error' in arrived ? Promise.reject(arrived.error) : Promise.resolve(arrived.value);
    }
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(pid);
        reject(new Error(`no ${this.what} from pid ${pid} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.set(pid, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
    });
  }

  #settle(pid: number, outcome: { value: T } | { error: Error }): void {
    const waiter = this.#waiting.get(pid);
    if (waiter === undefined) {
      this.#arrived.set(pid, outcome);
      return;
    }
    this.#waiting.delete(pid);
    if ('error' in outcome) waiter.reject(outcome.error);
    else waiter.resolve(outcome.value);
  }
}
