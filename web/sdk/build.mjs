// Builds dist/uid2-sdk.esm.js (ES module), dist/uid2-sdk.js (self-contained IIFE that installs window.__uid2),
// dist/euid-sdk.js (the same for EUID: window.__euid)
// and dist/types/*.d.ts.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const define = { __UID2_SDK_VERSION__: JSON.stringify(pkg.version) };
const banner = { js: `/*! ${pkg.name} ${pkg.version} | ${pkg.license} */` };
const target = ['es2020'];

rmSync('dist', { recursive: true, force: true });

await build({
  entryPoints: ['src/index.ts'],
  outfile: 'dist/uid2-sdk.esm.js',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target,
  define,
  banner,
  sourcemap: true,
});

for (const [entry, outfile] of [
  ['src/bundle.ts', 'dist/uid2-sdk.js'],
  ['src/bundle-euid.ts', 'dist/euid-sdk.js'],
]) {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target,
    define,
    banner,
    minify: true,
    legalComments: 'inline',
  });
}

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });

console.log('built dist/uid2-sdk.esm.js, dist/uid2-sdk.js, dist/euid-sdk.js, dist/types/');
