#!/usr/bin/env node
// faultline-bench: Faultline's fault throughput next to raw C handlers', in
// one run. Table on stdout (one per run, then a summary with --repeat);
// progress on stderr; --json FILE adds the JSON report and an SVG chart next
// to it; --pin CPU re-runs the whole bench under taskset.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import native from '@faultline/native';
import { AdoptHost } from './adopt/host.js';
import { parseCliArgs, USAGE, UsageError, type CliOptions } from './args.js';
import { benchRun } from './bench-run.js';
import { describeEnvironment } from './environment.js';
import { HandlerPool, type Content } from './faultline.js';
import { bytesChecksum, patternChecksum } from './pattern.js';
import { checkPinned, describePlacement, needsPinnedRerun, rerunPinned } from './placement.js';
import { Progress } from './progress.js';
import { summariseRuns, type BenchRun, type RepeatReport } from './repeat.js';
import { reportJson, svgPathFor } from './report/json.js';
import { formatRepeatTable } from './report/repeat-table.js';
import { chartOfRepeat, chartOfRun, renderSvg } from './report/svg.js';
import { formatTable } from './report/table.js';
import { summariseOocRuns } from './ooc/results.js';
import { summariseRestoreRuns } from './restore/results.js';
import { createSnapshot, type RestoreSnapshot } from './restore/snapshot.js';
import type { BenchReport, Environment } from './results.js';
import { allScenarios, selectScenarios } from './scenarios/index.js';
import { oocScenarios } from './scenarios/out-of-core.js';
import { RESTORE_BYTES, restoreScenarios, WORKING_SET_FRACTION } from './scenarios/restore.js';
import type { BenchContext } from './scenarios/types.js';
import { writesScenarios } from './scenarios/writes.js';

const SEED = 1;

async function bench(options: CliOptions): Promise<void> {
  if (options.pin !== null) checkPinned(options.pin);
  // --baseline-only leaves out what has no C reference (the ring).
  const placement = options.pin !== null ? 'pinned' : 'scheduled';
  const scenarios = selectScenarios(allScenarios(placement), options.quick, options.filter).filter(
    (s) => !options.baselineOnly || Object.keys(s.references).length > 0,
  );
  const restore = selectScenarios(restoreScenarios(), options.quick, options.filter).filter(
    (s) => !options.baselineOnly || s.units.some((unit) => unit.some((v) => v.reference)),
  );
  const ooc = selectScenarios(oocScenarios(options.quick), options.quick, options.filter);
  // The writes group has no C reference: --baseline-only leaves it out.
  const writes = options.baselineOnly ? [] : selectScenarios(writesScenarios(), options.quick, options.filter);
  if (scenarios.length === 0 && restore.length === 0 && ooc.length === 0 && writes.length === 0) {
    const names = [...allScenarios(), ...restoreScenarios(), ...oocScenarios(false), ...writesScenarios()].map((s) => s.name).join(', ');
    throw new UsageError(`--filter '${options.filter}' matches no scenario${options.quick ? ' of the --quick set' : ''}; scenarios: ${names}`);
  }
  const size = options.quick ? 8 << 20 : 32 << 20;
  const rounds = options.rounds ?? (options.quick ? 3 : 5);
  const pageSize = native.pageSize();
  // Only the tuning given on the command line: the library's defaults (and option names) stay the library's.
  const tuning = {
    ...(options.directPoll !== null ? { directPoll: options.directPoll } : {}),
    ...(options.spin !== null ? { spinUs: options.spin } : {}),
    ...options.handlerOptions,
  };
  const progress = new Progress();
  progress.note(
    `faultline-bench: ${scenarios.length + restore.length + ooc.length + writes.length} scenario(s) x ${rounds} rounds` +
      `${options.repeat > 1 ? ` x ${options.repeat} runs` : ''}, ${size >> 20} MiB regions, ` +
      `${options.pin === null ? 'as scheduled' : `pinned to CPU ${options.pin}`}`,
  );
  const handlers = options.baselineOnly ? null : new HandlerPool(tuning);

  const dir = mkdtempSync(join(tmpdir(), 'faultline-bench-'));
  const fileBytes = randomBytes(size);
  const file = join(dir, 'pages.bin');
  writeFileSync(file, fileBytes);
  const expected: Record<Content, bigint> = {
    zero: 0n,
    pattern: patternChecksum(SEED, size, pageSize),
    file: bytesChecksum(fileBytes, size, pageSize),
  };
  const adopt = new AdoptHost(dir);
  let snapshot: RestoreSnapshot | null = null;
  const restoreSnapshot = (): RestoreSnapshot => {
    if (snapshot === null) {
      progress.note(`restore: writing the ${RESTORE_BYTES >> 20} MiB memory file`);
      snapshot = createSnapshot(dir, { regionBytes: RESTORE_BYTES, fraction: WORKING_SET_FRACTION, seed: SEED, pageSize });
    }
    return snapshot;
  };
  const ctx: BenchContext = { size, pageSize, seed: SEED, file, handlers, adopt, expectedChecksum: (c) => expected[c], restoreSnapshot };

  const environment = (wakeProbe: Environment['wakeProbe']): Environment =>
    describeEnvironment({ quick: options.quick, rounds, repeat: options.repeat, regionBytes: size, placement: describePlacement(options.pin), handler: tuning, wakeProbe });
  const runs: BenchRun[] = [];
  try {
    for (let run = 0; run < options.repeat; run++) {
      const result = await benchRun(ctx, { scenarios, restore, ooc, writes, rounds, baselineOnly: options.baselineOnly, run, runs: options.repeat }, progress);
      runs.push(result);
      // Each run's table as soon as it is done: a long --repeat shows its numbers on the way.
      if (options.repeat > 1) process.stdout.write(`run ${run + 1} of ${options.repeat}\n`);
      process.stdout.write(
        formatTable({
          environment: environment(result.wakeProbe),
          scenarios: result.scenarios,
          restore: result.restore ?? [],
          ooc: result.ooc ?? [],
          writes: result.writes ?? [],
        }),
      );
      if (options.repeat > 1) process.stdout.write('\n');
    }
  } finally {
    progress.clear();
    await adopt.close();
    await handlers?.closeAll();
    rmSync(dir, { recursive: true, force: true });
  }

  let json: string;
  let svg: string;
  if (options.repeat > 1) {
    const report: RepeatReport = {
      environment: environment(null),
      runs,
      summary: summariseRuns(runs),
      restoreSummary: summariseRestoreRuns(runs.map((r) => r.restore ?? [])),
      oocSummary: summariseOocRuns(runs.map((r) => r.ooc ?? [])),
    };
    process.stdout.write(formatRepeatTable(report));
    json = reportJson(report);
    svg = renderSvg(chartOfRepeat(report));
  } else {
    const report: BenchReport = {
      environment: environment(runs[0]!.wakeProbe),
      scenarios: runs[0]!.scenarios,
      restore: runs[0]!.restore ?? [],
      ooc: runs[0]!.ooc ?? [],
      writes: runs[0]!.writes ?? [],
    };
    json = reportJson(report);
    svg = renderSvg(chartOfRun(report));
  }
  if (options.json !== null) {
    writeFileSync(options.json, json);
    writeFileSync(svgPathFor(options.json), svg);
    progress.note(`wrote ${options.json} and ${svgPathFor(options.json)}`);
  }
}

async function main(argv: readonly string[]): Promise<number> {
  let options: CliOptions;
  try {
    options = parseCliArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`faultline-bench: ${err.message}${err.message.endsWith('\n') ? '' : '\n'}`);
      return 2;
    }
    throw err;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    if (needsPinnedRerun(options.pin)) return await rerunPinned(options.pin);
    await bench(options);
    return 0;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(`faultline-bench: ${e.message}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
