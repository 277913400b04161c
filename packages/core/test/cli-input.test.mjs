// `faultline firecracker` with a memory file it cannot serve: a usage error
// (exit 2) naming the file and the problem, before the socket is created.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './helpers.mjs';

const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const tmp = tempDir('faultline-cli-');
after(() => tmp.cleanup());

function runCli(memFile) {
  const socket = join(tmp.dir, 'fc.sock');
  const r = spawnSync(process.execPath, [cli, 'firecracker', '--socket', socket, '--mem-file', memFile], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, socketCreated: existsSync(socket) };
}

function assertUsageError(r, line) {
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr.split('\n')[0], line);
  assert.match(r.stderr, /usage: faultline firecracker --socket PATH --mem-file PATH/);
  assert.doesNotMatch(r.stderr, /listening on/);
  assert.equal(r.stdout, '');
  assert.equal(r.socketCreated, false, 'the socket must not be created');
}

test('a directory as the memory file: exit 2, "is a directory"', () => {
  const dir = join(tmp.dir, 'snapshot-dir');
  mkdirSync(dir);
  assertUsageError(runCli(dir), `faultline: --mem-file '${dir}' is a directory; give the path of a regular file in it`);
});

test('a missing memory file: exit 2, "does not exist"', () => {
  const missing = join(tmp.dir, 'missing.mem');
  assertUsageError(runCli(missing), `faultline: --mem-file '${missing}' does not exist; give the path of a regular file`);
});

test('an empty memory file: exit 2, "is empty"', () => {
  const empty = join(tmp.dir, 'empty.mem');
  writeFileSync(empty, '');
  assertUsageError(runCli(empty), `faultline: --mem-file '${empty}' is empty; give the snapshot's guest memory file`);
});

test('a device as the memory file: exit 2, "is not a regular file"', () => {
  assertUsageError(runCli('/dev/zero'), "faultline: --mem-file '/dev/zero' is not a regular file (a device, socket or pipe); give the path of a regular file");
});
