import { build } from 'esbuild';
import { resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import pkg from '../package.json';
import { clearAllStorage, makeIdentity } from './helpers';

type Win = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Builds the same IIFE as build.mjs, in memory, and runs it as a classic <script> would. */
async function loadBundle(): Promise<void> {
  const result = await build({
    entryPoints: [resolve(process.cwd(), 'src/bundle.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    write: false,
    define: { __UID2_SDK_VERSION__: JSON.stringify(pkg.version) },
  });
  const code = result.outputFiles[0].text;
  expect(code).not.toMatch(/\brequire\(|\bimport\(/); // self-contained
  new Function(code)();
}

describe('script bundle (window.__uid2)', () => {
  beforeEach(() => {
    clearAllStorage();
    const w = window as unknown as Win;
    delete w.__uid2;
    delete w.__uid2Helper;
    delete w.UID2;
  });

  afterEach(() => {
    const w = window as unknown as Win;
    w.__uid2?.disconnect?.();
  });

  it('installs window.__uid2 and runs handlers queued before the script loaded', async () => {
    const w = window as unknown as Win;
    const identity = makeIdentity(Date.now());
    const seen: string[] = [];
    w.__uid2 = { callbacks: [] };
    w.__uid2.callbacks.push((event: string) => {
      seen.push(event);
      if (event === 'SdkLoaded') w.__uid2.init({ baseUrl: 'https://operator.test', identity, fetch: vi.fn() });
    });

    await loadBundle();

    expect(typeof w.__uid2.init).toBe('function');
    expect(w.UID2.VERSION).toBe(pkg.version);
    expect(seen).toEqual(['SdkLoaded', 'InitCompleted']);
    expect(w.__uid2.getAdvertisingToken()).toBe(identity.advertising_token);
    expect(w.__uid2Helper.normalizeEmail('A.B+c@gmail.com')).toBe('ab@gmail.com');

    const late: string[] = [];
    w.__uid2.callbacks.push((event: string) => late.push(event));
    expect(late).toEqual(['SdkLoaded', 'InitCompleted']);
  });

  it('loading the script twice keeps the first instance', async () => {
    await loadBundle();
    const w = window as unknown as Win;
    const first = w.__uid2;
    await loadBundle();
    expect(w.__uid2).toBe(first);
  });
});
