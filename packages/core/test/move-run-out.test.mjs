// The JS evictor's moveRunOut (src/worker/move-run-out.ts) against a real uffd:
// which pages of a run went into the staging slots when UFFDIO_MOVE's answers
// say less than it did (Linux 6.18 can move a page and answer EEXIST). The move
// function here does the real move and then answers as told, so the case the
// kernel produces once in a stress hour happens on every run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import native from '@faultline/native';
import { moveRunOut } from '../dist/worker/move-run-out.js';
import { PAGE, assertRunMovedOut, withMoveRun } from '../../native/test/fixtures/move-run.mjs';

const { constants: C } = native;
const PAGES = 8;

// `lie(call)`: the call-th UFFDIO_MOVE answers -EEXIST whatever it did. Returns the calls made.
const runWith = (holes, lie) =>
  withMoveRun(PAGES, holes, (ctx) => {
    let calls = 0;
    const move = (dst, src, length) => {
      const res = native.uffdMove(ctx.fd, dst, src, length, C.UFFDIO_MOVE_MODE_DONTWAKE);
      return lie(calls++) ? -C.EEXIST : res;
    };
    const present = (start, end) => native.pagemapScanPresent(ctx.pagemapFd, start, end);
    const moved = new Uint8Array(PAGES);
    const count = moveRunOut(move, present, ctx.staging.address, ctx.region.address, PAGES, PAGE, moved);
    assertRunMovedOut(assert, ctx, { moved, count }, holes);
    return calls;
  });

test('honest answers: one call moves the run, its answer is the truth', () => {
  assert.equal(runWith([], () => false), 1);
});

test('a move of the whole run answered EEXIST: every page is found in its slot', () => {
  assert.ok(runWith([], (call) => call === 0) > 1);
});

test('every answer lies, holes in the run: the holes stay holes, the rest are found', () => {
  runWith([1, 6], () => true);
});

test('honest answers with holes: the pages around them move', () => {
  runWith([0, 4], () => false);
});
