// spansOf: how a prefetch cuts a plan into spans for a bulk resolver (an
// HTTP Range server). Checked against a plain reference: every plan page in
// exactly one span, gaps within the limit, spans in order of first need.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spansOf } from '../dist/worker/prefetch-spans.js';
import { permutation } from './helpers.mjs';

test('scattered pages: merged across small gaps, split at large ones and at maxPages, ordered by first need', () => {
  // Touch order: 40, 3, 4, 41, 10, 90 (a gap of 5 pages between 4 and 10, 48 between 42 and 90).
  const { spans, duplicates } = spansOf(Uint32Array.of(40, 3, 4, 41, 10, 90), 5, 64);
  assert.equal(duplicates, 0);
  assert.deepEqual(
    spans.map((s) => ({ first: s.first, n: s.n, wanted: [...s.wanted], need: s.need })),
    [
      { first: 40, n: 2, wanted: [0, 1], need: 0 },
      { first: 3, n: 8, wanted: [0, 1, 7], need: 1 }, // 3, 4, then 10 across a gap of 5 pages
      { first: 90, n: 1, wanted: [0], need: 5 },
    ],
  );
  // Gap 0: only consecutive pages share a span; maxPages 1: a page per span.
  assert.deepEqual(spansOf(Uint32Array.of(40, 3, 4, 41, 10, 90), 0, 64).spans.map((s) => [s.first, s.n]), [[40, 2], [3, 2], [10, 1], [90, 1]]);
  assert.equal(spansOf(Uint32Array.of(1, 2, 3), 100, 1).spans.length, 3);
});

test('a large shuffled plan: every page in exactly one span, no span over maxPages, duplicates counted once', () => {
  const pages = permutation(5000, 3).slice(0, 1000);
  const plan = Uint32Array.from([...pages, pages[7], pages[9]]); // two repeated entries
  for (const [gap, max] of [[0, 256], [8, 256], [32, 16], [1000, 256]]) {
    const { spans, duplicates } = spansOf(plan, gap, max);
    assert.equal(duplicates, 2);
    const seen = new Map();
    let lastNeed = -1;
    for (const s of spans) {
      assert.ok(s.n <= max, `span of ${s.n} pages over ${max}`);
      assert.ok(s.need >= lastNeed, 'spans in order of first need');
      lastNeed = s.need;
      assert.equal(s.wanted[0], 0, 'a span starts at a plan page');
      assert.equal(s.wanted[s.wanted.length - 1], s.n - 1, 'and ends at one');
      for (let k = 0; k < s.wanted.length; k++) {
        if (k > 0) assert.ok(s.wanted[k] - s.wanted[k - 1] - 1 <= gap, 'no gap over the limit inside a span');
        seen.set(s.first + s.wanted[k], s);
      }
      assert.equal(s.need, Math.min(...[...s.wanted].map((k) => pages.indexOf(s.first + k))));
    }
    assert.equal(seen.size, 1000, `gap ${gap}: every distinct page once`);
    for (const p of pages) assert.ok(seen.has(p));
  }
});
