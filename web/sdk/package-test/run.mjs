// The browser SDK as a site installs it: `npm pack` of web/sdk (its prepack script builds dist/), then a fresh npm
// project outside the repository installs the tarball and
//   - imports it from Node through the package's "exports" map and checks its API, version and behaviour (consumer.mjs),
//   - type-checks a TypeScript file against the installed declarations (consumer.ts).
// Run by scripts/test.sh: `node --test package-test/run.mjs` in web/sdk, after `npm ci` (tsc comes from its dev tools).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const sdkDir = dirname(here);
const pkg = JSON.parse(readFileSync(join(sdkDir, 'package.json'), 'utf8'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(file, args, cwd) {
  try {
    return execFileSync(file, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5 * 60_000 });
  } catch (error) {
    throw new Error(`\`${file} ${args.join(' ')}\` in ${cwd} failed:\n${error.stdout ?? ''}\n${error.stderr ?? error.message}`);
  }
}

test('a fresh npm project installs the packed browser SDK and uses it', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'uid2-sdk-package-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  const packDir = join(dir, 'pack');
  mkdirSync(packDir);
  run(npm, ['pack', '--pack-destination', packDir, '--loglevel=error'], sdkDir);
  const tarballs = readdirSync(packDir).filter((f) => f.endsWith('.tgz'));
  assert.deepEqual(tarballs, [`uid2-dotnet-uid2-sdk-${pkg.version}.tgz`]);
  const tarball = join(packDir, tarballs[0]);
  const listing = run('tar', ['-tzf', tarball], dir).split('\n');
  for (const file of ['package/package.json', 'package/README.md', 'package/dist/uid2-sdk.js', 'package/dist/uid2-sdk.esm.js',
    'package/dist/types/index.d.ts']) {
    assert.ok(listing.includes(file), `${file} in the tarball`);
  }
  assert.ok(!listing.some((f) => f.startsWith('package/src/') || f.startsWith('package/test/')), 'no sources or tests packed');

  const app = join(dir, 'site');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'uid2-sdk-consumer', private: true, type: 'module' }, null, 2));
  // The package has no runtime dependencies: installing the tarball needs no registry.
  run(npm, ['install', '--no-audit', '--no-fund', '--loglevel=error', '--offline', tarball], app);
  const installed = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'));
  assert.ok(installed.dependencies[pkg.name].startsWith('file:'), 'recorded as a dependency of the site');

  copyFileSync(join(here, 'consumer.mjs'), join(app, 'consumer.mjs'));
  const seen = JSON.parse(run(process.execPath, ['consumer.mjs'], app).trim());
  assert.equal(seen.name, pkg.name);
  assert.equal(seen.version, pkg.version);
  assert.equal(seen.bundle, `${pkg.name}/dist/uid2-sdk.js`);

  copyFileSync(join(here, 'consumer.ts'), join(app, 'consumer.ts'));
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2020', module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2020', 'DOM'], strict: true, noEmit: true, types: [],
    },
    files: ['consumer.ts'],
  }));
  const tsc = createRequire(join(sdkDir, 'package.json')).resolve('typescript/bin/tsc');
  run(process.execPath, [tsc, '-p', 'tsconfig.json'], app);
});
