// The README's "Use it in your project", run as written, outside the
// repository: its shell commands (pack, create a project, npm install the
// tarballs: real npm, the real registry for the third-party dependencies, the
// addon compiled by @faultline/native's install script), then its program.
// Both are read from README.md between the use-it markers, so the README
// cannot drift from what is tested.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');

// The fenced block between `<!-- name ... -->` and `<!-- /name -->`.
function readmeBlock(name) {
  const m = new RegExp(`<!-- ${name}\\b[^>]*-->\\s*\`\`\`\\w*\\n([\\s\\S]*?)\`\`\`\\s*<!-- /${name} -->`).exec(readme);
  assert.ok(m, `README.md has no fenced block between <!-- ${name} --> and <!-- /${name} -->`);
  return m[1];
}

// The environment of a user's shell, not of the `npm test` running this file:
// npm's lifecycle variables (npm_config_local_prefix, npm_package_json, ...)
// would point the inner npm at this repository, and the PATH entries npm adds
// (this repository's node_modules/.bin, npm's node-gyp-bin) would lend the
// install tools a user does not have. NODE_PATH could resolve packages from
// outside the project.
function userEnv() {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) || key === 'INIT_CWD' || key === 'NODE_PATH' || key === 'NODE_OPTIONS') continue;
    env[key] = value;
  }
  env.PATH = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => !dir.includes(`${sep}node_modules${sep}.bin`) && !dir.includes('node-gyp-bin'))
    .join(delimiter);
  return env;
}

function run(command, args, cwd) {
  const r = spawnSync(command, args, { cwd, env: userEnv(), encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(
    r.status,
    0,
    `\`${command} ${args.join(' ')}\` in ${cwd} exited ${r.status} (signal ${r.signal}, ${r.error?.message ?? 'started'})\n${r.stdout}\n${r.stderr}`,
  );
  return r.stdout;
}

test('README "Use it in your project": pack, install into a project outside the repository, run the program', { timeout: 5 * 60_000 }, (t) => {
  const commands = readmeBlock('use-it:commands');
  const program = readmeBlock('use-it:program');

  // The commands run next to the clone, which they call faultline/.
  const dir = mkdtempSync(join(tmpdir(), 'faultline-packed-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.ok(!dir.startsWith(root), `${dir} must be outside the repository`);
  symlinkSync(root, join(dir, 'faultline'));
  run('bash', ['-euo', 'pipefail', '-c', commands], dir);

  const app = join(dir, 'my-app');
  const installed = join(app, 'node_modules', '@faultline');

  // pnpm pack must have replaced core's "workspace:*" with native's version.
  const nativeVersion = JSON.parse(readFileSync(join(root, 'packages', 'native', 'package.json'), 'utf8')).version;
  const corePkg = JSON.parse(readFileSync(join(installed, 'core', 'package.json'), 'utf8'));
  assert.equal(corePkg.dependencies['@faultline/native'], nativeVersion);

  // Everything core's manifest points at is in the tarball; its tests are not.
  const targets = [corePkg.types, corePkg.main, ...Object.values(corePkg.bin)];
  for (const [subpath, target] of Object.entries(corePkg.exports)) {
    if (subpath.includes('*')) continue;
    targets.push(...(typeof target === 'string' ? [target] : Object.values(target)));
  }
  for (const target of targets) assert.ok(existsSync(join(installed, 'core', target)), `@faultline/core ships ${target}`);
  assert.ok(!existsSync(join(installed, 'core', 'test')), '@faultline/core does not ship its tests');
  assert.match(run(join(app, 'node_modules', '.bin', 'faultline'), ['--help'], app), /usage: faultline/);

  // The install built the production addon only: no test addon, no bench programs.
  const release = join(installed, 'native', 'build', 'Release');
  assert.ok(existsSync(join(release, 'faultline_native.node')), 'the production addon is built');
  for (const name of ['faultline_testing.node', 'faultline_c_baseline', 'faultline_wake_probe']) {
    assert.ok(!existsSync(join(release, name)), `${name} is not built by a user's install`);
  }

  // Node, started in the project, finds both packages in the project's own
  // node_modules (the repository's cannot be reached from under tmpdir()),
  // and @faultline/native/testing fails the way its error says.
  const resolved = run(process.execPath, ['-e', `
    const native = require.resolve('@faultline/native');
    let testing = 'loaded';
    try { require('@faultline/native/testing'); } catch (e) { testing = e.code; }
    console.log(JSON.stringify({ core: require.resolve('@faultline/core'), native, testing }));
  `], app);
  const { core, native, testing } = JSON.parse(resolved);
  assert.ok(core.startsWith(join(installed, 'core') + sep), `@faultline/core resolves to ${core}`);
  assert.ok(native.startsWith(join(installed, 'native') + sep), `@faultline/native resolves to ${native}`);
  assert.equal(testing, 'ERR_FAULTLINE_NATIVE_TESTING_NOT_BUILT');

  writeFileSync(join(app, 'main.mjs'), program);
  const out = run(process.execPath, ['main.mjs'], app).trim();
  const m = /^byte (\d+): (\d+), in the file: (\d+)$/.exec(out);
  assert.ok(m, `main.mjs printed: ${out}`);
  // Compare with the file on disk, not with what the program says it holds;
  // a non-zero byte, so a zero page installed in its place cannot pass.
  const fileByte = readFileSync(join(app, 'data.bin'))[Number(m[1])];
  assert.notEqual(fileByte, 0);
  assert.equal(Number(m[2]), fileByte, 'the byte read through the page fault is the file\'s');
  assert.ok(readme.includes(`\`${out}\``), `the README quotes what the program prints: ${out}`);
});
