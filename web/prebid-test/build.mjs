// Bundles entry.js (Prebid core + userId + uid2IdSystem) into dist/prebid-uid2.js, an IIFE defining window.pbjs.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';

const version = JSON.parse(readFileSync(new URL('./node_modules/prebid.js/package.json', import.meta.url))).version;
await build({
  entryPoints: [new URL('./entry.js', import.meta.url).pathname],
  outfile: new URL('./dist/prebid-uid2.js', import.meta.url).pathname,
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
console.log(`built dist/prebid-uid2.js (prebid.js ${version}: userId + uid2IdSystem)`);
