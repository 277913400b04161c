#!/usr/bin/env node
// Runs every test file of the workspace with node's built-in runner.
// Node 20's `node --test` does not expand globs, so the files are listed here:
// packages/*/test/**/*.test.{js,mjs} and examples/test/*.test.mjs.
// Extra arguments are passed through (e.g. a file name filter: `npm test -- ring`).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

function collect(dir, out) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir).sort()) {
    if (name === 'node_modules' || name === 'fixtures') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (/\.test\.(mjs|js)$/.test(name)) out.push(path);
  }
  return out;
}

const files = [];
for (const pkg of readdirSync(join(root, 'packages')).sort()) {
  collect(join(root, 'packages', pkg, 'test'), files);
}
collect(join(root, 'examples', 'test'), files);

const filters = process.argv.slice(2);
const selected = filters.length
  ? files.filter((f) => filters.some((needle) => relative(root, f).includes(needle)))
  : files;
if (selected.length === 0) {
  console.error(`no test files matched ${JSON.stringify(filters)}`);
  process.exit(1);
}

const result = spawnSync(process.execPath, ['--test', ...selected], { stdio: 'inherit', cwd: root });
process.exit(result.status ?? 1);
