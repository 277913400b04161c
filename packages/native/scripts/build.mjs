#!/usr/bin/env node
// Builds the addons (and the C programs in binding.gyp) with node-gyp, against
// the Node headers already on this machine.
//
// Who runs it, and what gets built (the gyp variable faultline_testing):
// - A user's `npm install` of @faultline/native runs it as the package's
//   `install` script, with no arguments: faultline_testing=0, only the
//   production addon. The test addon (@faultline/native/testing), the C baseline
//   handler and the wake-up probe serve this repository's tests and bench only;
//   leaving them out keeps the install's compile short.
// - The workspace (`npm run build` at the repository root) runs it through this
//   package's `build` script, which passes -Dfaultline_testing=1: everything.
//   The root build installs with `pnpm install --ignore-scripts`, so a fresh
//   clone compiles once, in the full configuration, not first for production.
// An explicit -Dfaultline_testing=0|1 argument wins; without one,
// npm_config_faultline_testing (`npm install --faultline-testing=1`) chooses;
// without either, production. Other `-Dname=value` arguments go to gyp as they
// are. The build starts clean whenever the -D arguments differ from the last
// configure, so no target left out now lingers from an earlier build.
//
// node-gyp: the one this package can resolve (the workspace pins it as a
// devDependency), else the package manager's own (npm passes its bundled
// node-gyp in npm_config_node_gyp to lifecycle scripts; pnpm puts one on PATH).
//
// Headers are never downloaded (our machines must not fetch them, and a user's
// install should not depend on nodejs.org): npm's `nodedir` config
// (npm_config_nodedir) if set, else the prefix of the node running this script
// when it has include/node/node_api.h (official Node builds and distribution
// -dev packages do), else a clear error.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkgDir = resolve(here, '..');
const require = createRequire(import.meta.url);

function fail(message) {
  console.error(`@faultline/native: ${message}`);
  process.exit(1);
}

function pickNodedir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = resolve(dirname(process.execPath), '..');
  const header = join(prefix, 'include', 'node', 'node_api.h');
  if (existsSync(header)) return prefix;
  fail(
    `no Node headers found: ${header} does not exist and npm's nodedir is not set ` +
      '(this build does not download headers). Install the Node development headers ' +
      '(e.g. the nodejs-dev or nodejs-devel package), or point npm at a directory that ' +
      'holds include/node: `npm install --nodedir=/path/to/node` or `npm config set nodedir /path/to/node`.',
  );
}

// Returns the command that runs node-gyp: [program, ...leading arguments].
function pickNodeGyp() {
  try {
    return [process.execPath, require.resolve('node-gyp/bin/node-gyp.js')];
  } catch {
    // Not resolvable from here: a user's install, where node-gyp is not a dependency.
  }
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return [process.execPath, fromNpm];
  const onPath = spawnSync('node-gyp', ['--version'], { stdio: 'ignore' });
  if (onPath.status === 0) return ['node-gyp'];
  fail(
    `node-gyp not found (not resolvable from ${pkgDir}, npm_config_node_gyp ` +
      `${fromNpm ? `names a missing file: ${fromNpm}` : 'is not set'}, none on PATH). ` +
      'Install with npm, which brings its own node-gyp, or add one: ' +
      '`npm install --save-dev node-gyp` in your project, or `npm install -g node-gyp`.',
  );
}

function gypDefines() {
  const defines = process.argv.slice(2).filter((a) => a.startsWith('-D'));
  if (!defines.some((d) => d.startsWith('-Dfaultline_testing='))) {
    const testing = process.env.npm_config_faultline_testing;
    const on = testing !== undefined && testing !== '' && testing !== 'false' && testing !== '0';
    defines.push(`-Dfaultline_testing=${on ? 1 : 0}`);
  }
  return defines;
}

const nodedirArgs = [`--nodedir=${pickNodedir()}`];
const [gypProgram, ...gypLead] = pickNodeGyp();

function nodeGyp(...args) {
  const r = spawnSync(gypProgram, [...gypLead, ...args], { cwd: pkgDir, stdio: 'inherit' });
  if (r.error) fail(`could not start node-gyp (${gypProgram}): ${r.error.message}`);
  if (r.status !== 0) process.exit(r.status ?? 1);
}

// `node-gyp rebuild` would configure again without our -D arguments, so a
// rebuild is clean + configure + build here.
const defines = gypDefines();
const definesFile = join(pkgDir, 'build', 'faultline-gyp-defines.json');
const lastDefines = existsSync(definesFile) ? readFileSync(definesFile, 'utf8') : undefined;
const definesChanged = lastDefines !== undefined && lastDefines !== JSON.stringify(defines);
if (process.argv.includes('--rebuild') || definesChanged) nodeGyp('clean');
if (!existsSync(join(pkgDir, 'build', 'Makefile')) || lastDefines !== JSON.stringify(defines)) {
  nodeGyp('configure', ...nodedirArgs, '--', ...defines);
  writeFileSync(definesFile, JSON.stringify(defines));
}
nodeGyp('build', `--jobs=${availableParallelism()}`, ...nodedirArgs);
