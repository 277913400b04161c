// Progress on stderr while the bench runs, so a run is never silent: one
// line per scenario round (scenario, round, seconds since the start). On a
// terminal each line overwrites the last; piped (CI, a log file, `| tee`)
// every line stays, since a reader of the log wants to see where it was.
export interface ProgressSink {
  write(text: string): unknown;
  isTTY?: boolean;
}

export class Progress {
  readonly #started: number;
  #open = false; // a TTY line is on screen, to clear before anything else

  constructor(
    private readonly sink: ProgressSink = process.stderr,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#started = now();
  }

  get #tty(): boolean {
    return this.sink.isTTY === true;
  }

  /** Seconds since the bench started, one decimal. */
  elapsed(): string {
    return `${((this.now() - this.#started) / 1000).toFixed(1)} s`;
  }

  /** A round is starting. `run` is shown only when the set runs more than once (--repeat). */
  round(p: { run: number; runs: number; index: number; count: number; scenario: string; round: number; rounds: number }): void {
    const runText = p.runs > 1 ? `run ${p.run + 1}/${p.runs} ` : '';
    const line = `${runText}[${p.index + 1}/${p.count}] ${p.scenario}  round ${p.round + 1}/${p.rounds}  ${this.elapsed()}`;
    if (this.#tty) {
      this.sink.write(`\r\x1b[K${line}`);
      this.#open = true;
    } else {
      this.sink.write(`${line}\n`);
    }
  }

  /** A message of its own line (what the bench is doing between rounds). */
  note(text: string): void {
    this.clear();
    this.sink.write(`${text}  ${this.elapsed()}\n`);
  }

  /** Removes an overwriting line from the terminal (before the table is printed). */
  clear(): void {
    if (this.#open) this.sink.write('\r\x1b[K');
    this.#open = false;
  }
}
