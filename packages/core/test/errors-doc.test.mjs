// docs/errors.md is the catalogue of every ERR_FAULTLINE_* code: each code
// in FAULTLINE_ERROR_CODES has its row (when it happens, what to do), and
// the page names no code that does not exist.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FAULTLINE_ERROR_CODES } from '../dist/index.js';

const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
const known = new Set(FAULTLINE_ERROR_CODES);

/** The catalogue rows: | `CODE` | when | what to do |. */
function rows() {
  const out = new Map();
  for (const line of doc.split('\n')) {
    const m = /^\| `(ERR_FAULTLINE_[A-Z0-9_]+)` \|(.*)\|\s*$/.exec(line);
    if (!m) continue;
    assert.ok(!out.has(m[1]), `${m[1]} has two rows`);
    out.set(m[1], m[2].split('|').map((cell) => cell.trim()));
  }
  return out;
}

test('every code in FAULTLINE_ERROR_CODES has a row saying when it happens and what to do', () => {
  const table = rows();
  const missing = FAULTLINE_ERROR_CODES.filter((code) => !table.has(code));
  assert.deepEqual(missing, [], `docs/errors.md has no row for ${missing.join(', ')}`);
  for (const [code, cells] of table) {
    assert.equal(cells.length, 2, `${code}: a row needs 'when' and 'what to do'`);
    assert.ok(cells.every((c) => c.length >= 10), `${code}: empty cell in ${JSON.stringify(cells)}`);
  }
});

test('docs/errors.md names no code that does not exist', () => {
  const named = new Set(doc.match(/ERR_FAULTLINE_[A-Z0-9_]*[A-Z0-9]/g));
  const unknown = [...named].filter((code) => !known.has(code));
  assert.deepEqual(unknown, [], `docs/errors.md names ${unknown.join(', ')}, which FAULTLINE_ERROR_CODES does not have`);
});
