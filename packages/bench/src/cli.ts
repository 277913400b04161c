#!/usr/bin/env node
// faultline-bench: Faultline's fault throughput next to a raw C handler's, in
// one run. Table on stdout; progress on stderr only when it is a terminal;
// --json FILE adds the JSON report and an SVG chart next to it.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import native from '@faultline/native';
import { parseCliArgs, USAGE, UsageError, type CliOptions } from './args.js';
import { describeEnvironment } from './environment.js';
import { HandlerPool, type Content } from './faultline.js';
import { bytesChecksum, patternChecksum } from './pattern.js';
import { reportJson, svgPathFor } from './report/json.js';
import { renderSvg } from './report/svg.js';
import { formatTable } from './report/table.js';
import type { BenchReport, Environment, ScenarioResult } from './results.js';
import { runScenario } from './runner.js';
import { probeWakeups } from './wake-probe.js';
import { allScenarios, selectScenarios } from './scenarios/index.js';
import type { BenchContext } from './scenarios/types.js';

const SEED = 1;

async function bench(options: CliOptions): Promise<void> {
  // --baseline-only leaves out what has no baseline (the ring).
  const scenarios = selectScenarios(allScenarios(), options.quick, options.filter).filter(
    (s) => !options.baselineOnly || s.baseline !== null,
  );
  if (scenarios.length === 0) {
    const names = allScenarios().map((s) => s.name).join(', ');
    throw new UsageError(`--filter '${options.filter}' matches no scenario${options.quick ? ' of the --quick set' : ''}; scenarios: ${names}`);
  }
  const size = options.quick ? 8 << 20 : 32 << 20;
  const rounds = options.rounds ?? (options.quick ? 3 : 5);
  const pageSize = native.pageSize();
  const tuning = {
    ...(options.directPoll !== null ? { directPoll: options.directPoll } : {}),
    ...(options.spin !== null ? { spin: options.spin } : {}),
  };
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
  const ctx: BenchContext = { size, pageSize, seed: SEED, file, handlers, expectedChecksum: (c) => expected[c] };

  const progress = process.stderr.isTTY === true;
  const results: ScenarioResult[] = [];
  let wakeProbe: Environment['wakeProbe'] = null;
  try {
    const before = await probeWakeups();
    for (const [i, scenario] of scenarios.entries()) {
      results.push(
        await runScenario(scenario, ctx, {
          rounds,
          baselineOnly: options.baselineOnly,
          onRound: progress
            ? (s, round) => process.stderr.write(`\r\x1b[K[${i + 1}/${scenarios.length}] ${s.name}  round ${round + 1}/${rounds}`)
            : undefined,
        }),
      );
    }
    wakeProbe = { before, after: await probeWakeups() };
  } finally {
    if (progress) process.stderr.write('\r\x1b[K');
    await handlers?.closeAll();
    rmSync(dir, { recursive: true, force: true });
  }

  const report: BenchReport = { environment: describeEnvironment(options.quick, rounds, size, tuning, wakeProbe), scenarios: results };
  process.stdout.write(formatTable(report));
  if (options.json !== null) {
    writeFileSync(options.json, reportJson(report));
    writeFileSync(svgPathFor(options.json), renderSvg(report));
    if (progress) process.stderr.write(`wrote ${options.json} and ${svgPathFor(options.json)}\n`);
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
    await bench(options);
    return 0;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(`faultline-bench: ${e.message}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
