// A site's build that knows the SDK only as an installed npm package. Not run from here: run.mjs copies it into a
// fresh npm project outside the repository after `npm install <the packed tarball>`.
// Prints one JSON line with what it saw; exits non-zero (with the reason) if anything is missing or wrong.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as sdk from '@uid2-dotnet/uid2-sdk';

const installed = JSON.parse(readFileSync(new URL('./node_modules/@uid2-dotnet/uid2-sdk/package.json', import.meta.url), 'utf8'));

for (const name of ['Uid2Sdk', 'createUid2Sdk', 'IdentityStorage', 'Uid2ApiError', 'normalizeEmail', 'isNormalizedPhone',
  'hashAndEncodeIdentifier', 'isBase64Hash', 'isValidIdentity', 'isOptoutIdentity']) {
  assert.equal(typeof sdk[name], 'function', `export ${name}`);
}
assert.equal(sdk.VERSION, installed.version, 'VERSION is the installed package.json version');
assert.equal(typeof sdk.DEFAULT_BASE_URL, 'string');
assert.equal(sdk.EventType.SdkLoaded, 'SdkLoaded');

// Real behaviour through the installed build: the email normalization and hashing CSTG sends to the operator.
assert.equal(sdk.normalizeEmail(' Jane.Doe+ads@GMail.com '), 'janedoe@gmail.com');
const hash = await sdk.hashAndEncodeIdentifier('janedoe@gmail.com');
assert.equal(hash, createHash('sha256').update('janedoe@gmail.com').digest('base64'));
assert.ok(sdk.isBase64Hash(hash));
assert.ok(sdk.createUid2Sdk() instanceof sdk.Uid2Sdk);

// The script-tag bundle is exported as a file.
const bundle = import.meta.resolve('@uid2-dotnet/uid2-sdk/bundle');
assert.match(readFileSync(new URL(bundle), 'utf8'), /__uid2/);

console.log(JSON.stringify({ name: installed.name, version: sdk.VERSION, hash, bundle: bundle.replace(/^.*node_modules\//, '') }));
