#!/usr/bin/env node
// Builds the addons (and the C programs in binding.gyp) with the pinned node-gyp.
// node-gyp must never download headers on our machines: we point it at the
// headers of the node that runs this script (<prefix>/include/node), unless the
// caller already chose a nodedir (npm's `nodedir` config / npm_config_nodedir).
//
// gyp variables: `-Dname=value` arguments are passed to gyp, and
// npm_config_faultline_testing (`npm install --faultline-testing=0`) sets
// faultline_testing: 0 leaves out the test addon and the bench programs. The
// build is reconfigured whenever these differ from the last configure.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
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

function gypDefines() {
  const defines = process.argv.slice(2).filter((a) => a.startsWith('-D'));
  const testing = process.env.npm_config_faultline_testing;
  if (testing !== undefined && !defines.some((d) => d.startsWith('-Dfaultline_testing='))) {
    defines.push(`-Dfaultline_testing=${testing === 'false' || testing === '0' ? 0 : 1}`);
  }
  return defines;
}

const gyp = require.resolve('node-gyp/bin/node-gyp.js');
const nodedir = pickNodedir();
const nodedirArgs = nodedir ? [`--nodedir=${nodedir}`] : [];

function nodeGyp(...args) {
  const r = spawnSync(process.execPath, [gyp, ...args], { cwd: pkgDir, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

// `node-gyp rebuild` would configure again without our -D arguments, so a
// rebuild is clean + configure + build here. Other -D arguments than last time
// also start clean: no target left out now may linger from an earlier build.
const defines = gypDefines();
const definesFile = join(pkgDir, 'build', 'faultline-gyp-defines.json');
const lastDefines = existsSync(definesFile) ? readFileSync(definesFile, 'utf8') : undefined;
const definesChanged = lastDefines !== undefined && lastDefines !== JSON.stringify(defines);
if (process.argv.includes('--rebuild') || definesChanged) nodeGyp('clean');
if (!existsSync(join(pkgDir, 'build', 'Makefile')) || lastDefines !== JSON.stringify(defines)) {
  nodeGyp('configure', ...nodedirArgs, '--', ...defines);
  writeFileSync(definesFile, JSON.stringify(defines));
}
nodeGyp('build', '--jobs=2', ...nodedirArgs);
