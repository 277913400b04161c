// The shape of the main addon's system errors (errors.h), through the test
// addon's makeErrnoError and through a real failing call: both must agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import native from '@faultline/native';
import testing from '@faultline/native/testing';

test('makeErrnoError builds what a failed system call throws: code, negative errno, syscall, message', () => {
  const made = testing.makeErrnoError(22, 'ioctl(UFFDIO_API)');
  assert.ok(made instanceof Error);
  assert.equal(made.code, 'EINVAL');
  assert.equal(made.errno, -22);
  assert.equal(made.syscall, 'ioctl(UFFDIO_API)');
  assert.equal(made.message, 'EINVAL: Invalid argument, ioctl(UFFDIO_API)');
  assert.equal(testing.makeErrnoError(9).syscall, 'test');

  let thrown;
  try {
    native.munmap(1, native.pageSize());
  } catch (err) {
    thrown = err;
  }
  const same = testing.makeErrnoError(22, 'munmap');
  assert.deepEqual(
    { code: thrown.code, errno: thrown.errno, syscall: thrown.syscall, message: thrown.message },
    { code: same.code, errno: same.errno, syscall: same.syscall, message: same.message },
  );
  assert.throws(() => testing.makeErrnoError('x'), TypeError);
});

test('the test addon is its own module: the main addon exports none of its helpers', () => {
  for (const name of ['touchPages', 'ringProduce', 'encodeUffdMsg', 'makeErrnoError']) {
    assert.equal(typeof testing[name], 'function', name);
    assert.equal(name in native, false, `${name} is not in @faultline/native`);
  }
});
