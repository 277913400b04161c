#!/usr/bin/env node
// npm run stress: the soak behind README "Guarantees". Runs each scenario of
// packages/core/test/stress/scenarios.mjs at full size (the same code runs
// small in packages/core/test/stress.test.mjs), prints one table row per
// scenario and exits 1 if any check failed. Progress goes to stderr.
//
//   npm run stress -- [--faults N] [--gib G] [--seconds S] [--scenario NAME]...
import { parseArgs } from 'node:util';
import { DEFAULTS, SCENARIOS, formatTable, runScenario, warmUp } from '../packages/core/test/stress/scenarios.mjs';

const USAGE = `usage: npm run stress -- [options]
  --faults N       steady: faults in all (default ${DEFAULTS.faults})
  --gib G          regions mapped at once, GiB (steady: per round; flaky, close-under-load: all; default ${DEFAULTS.gib})
  --seconds S      worker-kills: how long workers keep being killed under load (default ${DEFAULTS.seconds})
  --scenario NAME  run only this one (repeatable): ${SCENARIOS.join(', ')}`;

function positive(name, text) {
  const n = Number(text);
  if (!(n > 0) || !Number.isFinite(n)) {
    console.error(`--${name} must be a positive number, got '${text}'\n${USAGE}`);
    process.exit(2);
  }
  return n;
}

let args;
try {
  args = parseArgs({
    options: {
      faults: { type: 'string' },
      gib: { type: 'string' },
      seconds: { type: 'string' },
      scenario: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  }).values;
} catch (err) {
  console.error(`${err.message}\n${USAGE}`);
  process.exit(2);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
const options = {};
if (args.faults !== undefined) options.faults = Math.round(positive('faults', args.faults));
if (args.gib !== undefined) options.gib = positive('gib', args.gib);
if (args.seconds !== undefined) options.seconds = positive('seconds', args.seconds);
const names = args.scenario ?? SCENARIOS;
for (const name of names) {
  if (!SCENARIOS.includes(name)) {
    console.error(`unknown scenario '${name}'\n${USAGE}`);
    process.exit(2);
  }
}

const log = (line) => process.stderr.write(`${line}\n`);
await warmUp();
const rows = [];
for (const name of names) {
  log(`-- ${name}`);
  const row = await runScenario(name, options, log);
  for (const f of row.failures) log(`FAIL ${name}: ${f}`);
  log(`-- ${name}: ${row.failures.length ? 'FAIL' : 'ok'} in ${row.wallSeconds.toFixed(1)} s`);
  rows.push(row);
}
console.log(formatTable(rows));
const failed = rows.filter((r) => r.failures.length);
if (failed.length) {
  console.log(`\n${failed.length} scenario(s) failed:`);
  for (const r of failed) for (const f of r.failures) console.log(`- ${r.scenario}: ${f}`);
  process.exit(1);
}
