// The C programs built with @faultline/native (the C reference handlers, the
// adopt child, the wake-up probe): where they are, and reading the one JSON
// line each prints (run to completion or in the background), so every caller
// fails the same clear way.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildDir } from '@faultline/native/paths';

/** The path of a built program; throws ERR_FAULTLINE_BASELINE_NOT_BUILT naming the fix when it is missing. */
export function programPath(name: string): string {
  const path = join(buildDir, name);
  if (!existsSync(path)) {
    const err = new Error(`${name} is not built (${path} missing): run \`npm run build\` at the repository root`);
    (err as NodeJS.ErrnoException).code = 'ERR_FAULTLINE_BASELINE_NOT_BUILT';
    throw err;
  }
  return path;
}

export interface JsonLine {
  /** The numeric field `key`; throws naming the program and what it printed when absent. */
  num(key: string): number;
  /** The string field `key`. */
  str(key: string): string;
  /** A hex or decimal string field as a bigint (checksums). */
  big(key: string): bigint;
}

/** Parses the last non-empty line a program printed as its JSON result. */
export function parseJsonLine(program: string, stdout: string): JsonLine {
  const line = stdout.trim().split('\n').pop() ?? '';
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new Error(`${program} printed no JSON result line: '${stdout.trim().slice(0, 300)}'`);
  }
  return {
    num(key) {
      const v = raw[key];
      if (typeof v !== 'number') throw new Error(`${program} printed no numeric ${key}: ${line}`);
      return v;
    },
    str(key) {
      const v = raw[key];
      if (typeof v !== 'string') throw new Error(`${program} printed no ${key}: ${line}`);
      return v;
    },
    big(key) {
      const v = raw[key];
      if (typeof v !== 'string' && typeof v !== 'number') throw new Error(`${program} printed no ${key}: ${line}`);
      return BigInt(v);
    },
  };
}

/** A built program started in the background (the adopt scenarios run two at once). */
export interface RunningProgram {
  readonly pid: number;
  /** The first full line it prints on stdout (rejects if it ends without one). */
  readonly firstLine: Promise<string>;
  /** Resolves once it exited with status 0; rejects naming the status or signal, with its stderr. */
  readonly exited: Promise<void>;
  writeStdin(text: string): void;
  endStdin(): void;
  /** SIGKILL if still running (cleanup after a failed round). */
  kill(): void;
}

export function startProgram(name: string, args: readonly string[]): RunningProgram {
  const child = spawn(programPath(name), args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => (stderr += text));
  // Writing to a child that already exited must not crash the bench: its exit says why.
  child.stdin.on('error', () => undefined);
  const exited = new Promise<void>((resolve, reject) => {
    child.on('error', reject); // could not start it
    child.on('close', (status, signal) => {
      if (status === 0) return resolve();
      const how = signal === 'SIGALRM' ? 'timed out (SIGALRM: its peer never finished)' : signal ? `was killed (${signal})` : `exited with status ${status}`;
      reject(new Error(`${name} ${how}: ${stderr.trim() || '(no message)'}`));
    });
  });
  const firstLine = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (text: string) => {
      stdout += text;
      const end = stdout.indexOf('\n');
      if (end >= 0) resolve(stdout.slice(0, end));
    });
    exited.then(() => reject(new Error(`${name} printed no result line: '${stdout.trim().slice(0, 300)}'`)), reject);
  });
  // Callers may await only one of the two: the other must not become an unhandled rejection.
  exited.catch(() => undefined);
  firstLine.catch(() => undefined);
  return {
    pid: child.pid ?? -1,
    firstLine,
    exited,
    writeStdin: (text) => void child.stdin.write(text),
    endStdin: () => void child.stdin.end(),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
