// Command-line arguments of the bench. Pure: returns the options or throws a
// UsageError (the CLI prints it and exits 2).
import { parseArgs } from 'node:util';

export interface CliOptions {
  quick: boolean;
  json: string | null;
  filter: string | null;
  rounds: number | null;
  baselineOnly: boolean;
  /** Handler tuning for ablations (docs/performance.md); null: the library's defaults. */
  directPoll: boolean | null;
  spin: number | null;
  help: boolean;
}

export class UsageError extends Error {
  readonly code = 'ERR_FAULTLINE_BENCH_USAGE';
}

export const USAGE = `usage: faultline-bench [--quick] [--json FILE] [--filter NAME] [--rounds N] [--baseline-only]
                       [--no-direct-poll] [--spin N]
  --quick          a short run (under 30 s): fewer scenarios, smaller regions, 3 rounds
  --json FILE      also write the results as JSON to FILE and a chart to FILE with .svg
  --filter NAME    run only scenarios whose name or group contains NAME
  --rounds N       rounds per scenario (default 5, quick 3)
  --baseline-only  measure the C baseline alone
  --no-direct-poll workers park on the ring only (every fault through the reader thread)
  --spin N         ring checks a worker makes before parking (library default 200; 1 on one CPU)
  --help           this text
`;

export function parseCliArgs(argv: readonly string[]): CliOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        quick: { type: 'boolean' },
        json: { type: 'string' },
        filter: { type: 'string' },
        rounds: { type: 'string' },
        'baseline-only': { type: 'boolean' },
        'no-direct-poll': { type: 'boolean' },
        spin: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    // node:util's messages name the option; keep them and add the usage.
    throw new UsageError(`${(err as Error).message}\n${USAGE}`);
  }
  let rounds: number | null = null;
  if (values.rounds !== undefined) {
    rounds = Number(values.rounds);
    if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100) {
      throw new UsageError(`--rounds must be an integer from 1 to 100, got '${values.rounds}'\n${USAGE}`);
    }
  }
  let spin: number | null = null;
  if (values.spin !== undefined) {
    spin = Number(values.spin);
    if (!Number.isInteger(spin) || spin < 1 || spin > 1e9) {
      throw new UsageError(`--spin must be an integer from 1 to 1e9, got '${values.spin}'\n${USAGE}`);
    }
  }
  if (values.json !== undefined && values.json === '') throw new UsageError(`--json needs a file name\n${USAGE}`);
  if (values.filter !== undefined && values.filter === '') throw new UsageError(`--filter needs a name\n${USAGE}`);
  return {
    quick: values.quick ?? false,
    json: values.json ?? null,
    filter: values.filter ?? null,
    rounds,
    baselineOnly: values['baseline-only'] ?? false,
    directPoll: values['no-direct-poll'] === true ? false : null,
    spin,
    help: values.help ?? false,
  };
}
