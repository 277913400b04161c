// An unprivileged user (vm.unprivileged_userfaultfd=0 here): a clear EPERM that
// names the fixes, and userModeOnly works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const child = fileURLToPath(new URL('./fixtures/unprivileged-child.mjs', import.meta.url));
const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];

function runUnprivileged() {
  if (process.getuid() !== 0) return spawnSync(process.execPath, [child], { encoding: 'utf8', timeout: 30_000 });
  return spawnSync(NOBODY[0], [...NOBODY.slice(1), process.execPath, child], { encoding: 'utf8', timeout: 30_000 });
}

function checkoutReadableByNobody() {
  if (process.getuid() !== 0) return true;
  const r = spawnSync(NOBODY[0], [...NOBODY.slice(1), process.execPath, '-e', `require('fs').accessSync(${JSON.stringify(child)})`]);
  return r.status === 0;
}

test('unprivileged: EPERM names the fixes; userModeOnly serves pages', { skip: !checkoutReadableByNobody() && 'this checkout is not readable by uid 65534' }, () => {
  const r = runUnprivileged();
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  if (!/privileged-create-worked/.test(r.stdout)) {
    assert.match(r.stdout, /refused EPERM: .*vm\.unprivileged_userfaultfd/);
    assert.match(r.stdout, /userModeOnly|user-mode|USER_MODE_ONLY/i);
  }
  assert.match(r.stdout, /served bad=0/);
});
