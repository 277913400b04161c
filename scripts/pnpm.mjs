#!/usr/bin/env node
// Runs the pinned pnpm (package.json "packageManager") through npx, so a fresh
// machine with only Node and npm can build: pnpm is not installed globally here
// and corepack cannot fetch it.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const pinned = String(pkg.packageManager ?? '');
if (!pinned.startsWith('pnpm@')) {
  console.error('package.json "packageManager" must name a pnpm version (pnpm@X.Y.Z)');
  process.exit(2);
}
const result = spawnSync('npx', ['--yes', pinned, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, npm_config_update_notifier: 'false' },
});
if (result.error) {
  console.error(`could not start npx to run ${pinned}: ${result.error.message}`);
  process.exit(2);
}
process.exit(result.status ?? 1);
