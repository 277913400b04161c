// The evictor's MoveRunOut (src/evict/move_out.h) against a real uffd: which
// pages of a run went into the staging slots, when the kernel's UFFDIO_MOVE
// answers say less than it did. Linux 6.18 sometimes moves a page and reports
// EEXIST; the testing binding makes chosen calls answer "refused" after a real
// move, so the case happens on every run instead of once in a stress hour.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import testing from '@faultline/native/testing';
import { checkFdsClosedAfterAll } from './fixtures/native-test-env.mjs';
import { PAGE, assertRunMovedOut, withMoveRun } from './fixtures/move-run.mjs';

const PAGES = 8;
const ALL_LIE = 2 ** 52 - 1; // bit i: the i-th call lies

checkFdsClosedAfterAll();

const run = ({ fd, pagemapFd, region, staging }, lies) => testing.moveRunOut(fd, pagemapFd, staging.address, region.address, PAGES, PAGE, lies);

test('a run moved with honest answers: one call, every page in its slot', () => {
  withMoveRun(PAGES, [], (ctx) => {
    const result = run(ctx, 0);
    assert.equal(result.calls, 1);
    assertRunMovedOut(assert, ctx, result, []);
  });
});

test('a run whose one move of eight pages answers "refused": all eight are found in their slots', () => {
  withMoveRun(PAGES, [], (ctx) => {
    const result = run(ctx, 1);
    assert.ok(result.calls > 1, 'the loop went on after the refusal');
    assertRunMovedOut(assert, ctx, result, []);
  });
});

test('every call lies, with holes in the run: the holes stay holes, the rest are found', () => {
  withMoveRun(PAGES, [2, 5], (ctx) => assertRunMovedOut(assert, ctx, run(ctx, ALL_LIE), [2, 5]));
});

test('honest answers with holes in the run: the holes are skipped, the rest move', () => {
  withMoveRun(PAGES, [0, 7], (ctx) => assertRunMovedOut(assert, ctx, run(ctx, 0), [0, 7]));
});
