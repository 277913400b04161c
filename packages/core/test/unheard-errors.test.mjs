// With no 'error' listener, failures are not visible only in stats(): the
// first error of each code is written to stderr, with how to see them all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const child = fileURLToPath(new URL('./fixtures/unheard-errors-child.mjs', import.meta.url));

function run(mode) {
  const r = spawnSync(process.execPath, [child, mode], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `${mode}: status ${r.status} signal ${r.signal}\n${r.stdout}\n${r.stderr}`);
  return r;
}

test("no 'error' listener: one stderr line per error code, however many errors", () => {
  const r = run('silent');
  assert.equal(r.stdout.trim(), 'zero pages 5, heard 0, counted 5');
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('faultline: unhandled'));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(
    lines[0],
    /^faultline: unhandled 'error' ERR_FAULTLINE_RESOLVER_FAILED: .*refusing page \d on purpose.* \(no 'error' listener on this FaultHandler; further ERR_FAULTLINE_RESOLVER_FAILED errors are not printed: add handler\.on\('error', \.\.\.\) to see each one and silence this\)$/,
  );
});

test("with an 'error' listener: every error reaches it and nothing is written to stderr", () => {
  const r = run('listen');
  assert.equal(r.stdout.trim(), 'zero pages 5, heard 5, counted 5');
  assert.doesNotMatch(r.stderr, /faultline: unhandled/);
});
