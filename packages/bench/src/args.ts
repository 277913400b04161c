// Command-line arguments of the bench. Pure (the CPU count is a parameter):
// returns the options or throws a UsageError (the CLI prints it and exits 2).
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';

export interface CliOptions {
  quick: boolean;
  json: string | null;
  filter: string | null;
  rounds: number | null;
  baselineOnly: boolean;
  /** --pin: the one CPU every thread of both sides runs on; null: as the scheduler places them. */
  pin: number | null;
  /** Runs of the whole selected set (--repeat), 1 by default. */
  repeat: number;
  /** Handler tuning for ablations (docs/performance.md); null: the library's defaults. */
  directPoll: boolean | null;
  spin: number | null;
  /** --handler-option NAME=VALUE, any FaultHandler option by name (the library's option set changes faster than this CLI). */
  handlerOptions: Record<string, HandlerOptionValue>;
  help: boolean;
}

export type HandlerOptionValue = boolean | number | string;

export class UsageError extends Error {
  readonly code = 'ERR_FAULTLINE_BENCH_USAGE';
}

export const USAGE = `usage: faultline-bench [--quick] [--json FILE] [--filter NAME] [--rounds N] [--repeat K] [--pin CPU]
                       [--baseline-only] [--no-direct-poll] [--spin US] [--handler-option NAME=VALUE]...
  --quick          a short run (under a minute): fewer scenarios, smaller regions, 3 rounds
  --json FILE      also write the results as JSON to FILE and a chart to FILE with .svg
  --filter NAME    run only scenarios whose name or group contains NAME (a group: e.g. adopt, restore)
  --rounds N       rounds per scenario (default 5, quick 3)
  --repeat K       run the whole selected set K times; report each ratio's median and min..max
  --pin CPU        run everything (Faultline, the C references, their children) on that one CPU
                   (re-runs the bench under taskset -c CPU)
  --baseline-only  measure the C references alone (baseline, limit, readahead; restore: c-ondemand)
  --no-direct-poll workers park on the ring only (every fault through the reader thread)
  --spin US        longest spin of the leading worker before it sleeps, µs (library default 50; 0 on one CPU)
  --handler-option NAME=VALUE
                   pass any FaultHandler option (repeatable; true/false and numbers are typed),
                   e.g. --handler-option spinUs=50 where the library has that option
  --help           this text
`;

export function parseCliArgs(argv: readonly string[], cpuCount = cpus().length): CliOptions {
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
        repeat: { type: 'string' },
        pin: { type: 'string' },
        'baseline-only': { type: 'boolean' },
        'no-direct-poll': { type: 'boolean' },
        spin: { type: 'string' },
        'handler-option': { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    // node:util's messages name the option; keep them and add the usage.
    throw new UsageError(`${(err as Error).message}\n${USAGE}`);
  }
  const rounds = integerOption('--rounds', values.rounds, 1, 100);
  const spin = integerOption('--spin', values.spin, 0, 1_000_000, '1000000');
  const repeat = integerOption('--repeat', values.repeat, 1, 100) ?? 1;
  const pin = integerOption('--pin', values.pin, 0, cpuCount - 1, `${cpuCount - 1} (this machine has ${cpuCount} CPUs, numbered from 0)`);
  if (values.json !== undefined && values.json === '') throw new UsageError(`--json needs a file name\n${USAGE}`);
  if (values.filter !== undefined && values.filter === '') throw new UsageError(`--filter needs a name\n${USAGE}`);
  return {
    quick: values.quick ?? false,
    json: values.json ?? null,
    filter: values.filter ?? null,
    rounds,
    baselineOnly: values['baseline-only'] ?? false,
    pin,
    repeat,
    directPoll: values['no-direct-poll'] === true ? false : null,
    spin,
    handlerOptions: Object.fromEntries((values['handler-option'] ?? []).map(handlerOption)),
    help: values.help ?? false,
  };
}

/** An integer option in [min, max], null when absent. `maxText` spells max in the message. */
function integerOption(flag: string, value: string | undefined, min: number, max: number, maxText = String(max)): number | null {
  if (value === undefined) return null;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag} must be an integer from ${min} to ${maxText}, got '${value}'\n${USAGE}`);
  }
  return n;
}

/** NAME=VALUE -> [NAME, typed VALUE]: 'true'/'false' are booleans, numbers are numbers, the rest strings. */
function handlerOption(text: string): [string, HandlerOptionValue] {
  const match = /^([A-Za-z_$][\w$]*)=(.*)$/.exec(text);
  if (match === null) {
    throw new UsageError(`--handler-option takes NAME=VALUE (a FaultHandler option, e.g. spinUs=50), got '${text}'\n${USAGE}`);
  }
  const [, name, raw] = match as unknown as [string, string, string];
  const value = raw === 'true' ? true : raw === 'false' ? false : raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  return [name, value];
}
