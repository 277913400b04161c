// What the Firecracker tests share (not a test file itself): the C client
// (fixtures/fc-client.c, what Firecracker does on snapshot restore) and the
// `faultline` CLI, run as child processes.
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Compiles fc-client into `dir`; returns a runner: (sock, memFile, mode, regions, threads) => Promise of its exit and output. */
export function buildFcClient(dir) {
  const client = join(dir, 'fc-client');
  execFileSync('cc', ['-O2', '-Wall', '-pthread', '-o', client, fileURLToPath(new URL('./fixtures/fc-client.c', import.meta.url))]);
  let n = 0;
  // Output goes to a file: no pipes to close lazily.
  return (sock, memFile, mode, regions = 1, threads = 4) => {
    const log = join(dir, `client-${++n}.log`);
    const out = openSync(log, 'w');
    const child = spawn(client, [sock, memFile, mode, String(regions), String(threads)], { stdio: ['ignore', out, out] });
    closeSync(out);
    return new Promise((resolve) =>
      child.on('exit', (code, signal) => resolve({ mode, code, signal, pid: child.pid, out: readFileSync(log, 'utf8') })),
    );
  };
}

const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

/** Runs `faultline ...args`; its stdout and stderr together in output(). */
export function runCli(args) {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, out })));
  return { child, exited, output: () => out };
}

/** Waits until the CLI's output contains `pattern` (a string or a RegExp); returns the RegExp's match. */
export async function waitForOutput(run, pattern, ms = 15000) {
  const found = () => (typeof pattern === 'string' ? run.output().includes(pattern) : pattern.test(run.output()));
  const t0 = Date.now();
  while (!found()) {
    if (Date.now() - t0 > ms) assert.fail(`waited for ${pattern}: ${run.output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return typeof pattern === 'string' ? null : run.output().match(pattern);
}

/** Starts the CLI with `args` and waits until it listens. */
export async function startCli(args) {
  const run = runCli(args);
  await waitForOutput(run, 'listening on', 10000);
  return run;
}
