#!/usr/bin/env node
// Builds the addon (and the C programs in binding.gyp) with the pinned node-gyp.
// node-gyp must never download headers on our machines: we point it at the
// headers of the node that runs this script (<prefix>/include/node), unless the
// caller already chose a nodedir (npm's `nodedir` config / npm_config_nodedir).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkgDir = resolve(here, '..');
const require = createRequire(import.meta.url);

function pickNodedir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = resolve(dirname(process.execPath), '..');
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) return prefix;
  return undefined; // let node-gyp use its cache (needs network: only on dev machines)
}

const gyp = require.resolve('node-gyp/bin/node-gyp.js');
const nodedir = pickNodedir();
const args = [gyp, process.argv.includes('--rebuild') ? 'rebuild' : 'build', '--jobs=2'];
if (nodedir) args.push(`--nodedir=${nodedir}`);
if (!existsSync(join(pkgDir, 'build', 'Makefile')) || process.argv.includes('--rebuild')) {
  const conf = spawnSync(process.execPath, [gyp, 'configure', ...(nodedir ? [`--nodedir=${nodedir}`] : [])], {
    cwd: pkgDir,
    stdio: 'inherit',
  });
  if (conf.status !== 0) process.exit(conf.status ?? 1);
}
const r = spawnSync(process.execPath, args, { cwd: pkgDir, stdio: 'inherit' });
process.exit(r.status ?? 1);
