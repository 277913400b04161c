#!/usr/bin/env node
// `npm run pack`: writes the tarballs a user installs, @faultline/native and
// @faultline/core, into packed/ at the repository root (emptied first, so
// `npm install packed/*.tgz` never picks up an older version).
//
// pnpm packs them (through scripts/pnpm.mjs) because it rewrites core's
// "workspace:*" dependency on native to native's version; npm would ship the
// workspace: range, which no install outside this repository can resolve.
//
// native ships sources (its install script compiles the addon on the user's
// machine), so nothing is built for it here. core ships dist/: it is built
// first, but only when missing or older than its sources. `npm test` runs this
// while other test files may be importing dist/, and tsc rewrites every
// output file, so an up-to-date dist/ must be left alone.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const core = join(root, 'packages', 'core');
const packedDir = join(root, 'packed');
const pnpmScript = join(root, 'scripts', 'pnpm.mjs');

function pnpm(cwd, args, { quiet = false } = {}) {
  const r = spawnSync(process.execPath, [pnpmScript, ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', quiet ? 'pipe' : 'inherit', 'inherit'],
  });
  if (r.status !== 0) {
    if (quiet) process.stdout.write(r.stdout ?? '');
    console.error(`pack: \`pnpm ${args.join(' ')}\` in ${relative(root, cwd) || '.'} failed (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
}

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else yield path;
  }
}

const mtime = (path) => statSync(path).mtimeMs;

// Why core's dist/ needs building, or undefined when every source has an
// output at least as new as it and as the compiler configuration.
function coreDistStale() {
  const src = join(core, 'src');
  const config = Math.max(mtime(join(core, 'tsconfig.json')), mtime(join(root, 'tsconfig.base.json')));
  for (const file of walk(src)) {
    if (!file.endsWith('.ts') || file.endsWith('.d.ts')) continue;
    const out = join(core, 'dist', relative(src, file).replace(/\.ts$/, '.js'));
    if (!existsSync(out)) return `${relative(root, out)} is missing`;
    if (mtime(out) < Math.max(mtime(file), config)) return `${relative(root, out)} is older than its source`;
  }
  return undefined;
}

const stale = coreDistStale();
if (stale) {
  console.log(`pack: building @faultline/core first (${stale})`);
  // Scripts stay off: packing needs core's TypeScript output, not the addon.
  pnpm(root, ['install', '--frozen-lockfile=false', '--ignore-scripts']);
  pnpm(root, ['--filter', '@faultline/core', 'run', 'build']);
}

rmSync(packedDir, { recursive: true, force: true });
mkdirSync(packedDir);
for (const pkg of ['native', 'core']) {
  pnpm(join(root, 'packages', pkg), ['pack', '--pack-destination', packedDir], { quiet: true });
}
for (const name of readdirSync(packedDir).sort()) console.log(join(packedDir, name));
