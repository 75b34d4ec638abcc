import { build } from 'esbuild';
import { resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import pkg from '../package.json';
import { EUID_PRODUCT, UID2_PRODUCT } from '../src/product';
import { EuidSdk, Uid2Sdk } from '../src/sdk';
import { clearAllStorage, encryptedRefreshResponse, FAKE_TIMERS, makeIdentity, mockFetch } from './helpers';

/**
 * The EUID variant, named as the reference SDK names it (IABTechLab/uid2-web-integrations src/euidSdk.ts): localStorage
 * `EUID-sdk-identity`, cookie `__euid`, default operator https://prod.euid.eu, client id `euid-sdk-<version>`, and a
 * script bundle that installs `window.__euid`.
 */
const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
type Win = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function cookie(name: string): string | undefined {
  const entry = document.cookie
    .split(';')
    .map((s) => s.trim())
    .find((s) => s.startsWith(name + '='));
  return entry === undefined ? undefined : decodeURIComponent(entry.substring(name.length + 1));
}

function clearEuid(): void {
  localStorage.removeItem('EUID-sdk-identity');
  document.cookie = `__euid=; path=/; expires=${new Date(0).toUTCString()}`;
}

describe('EUID SDK', () => {
  const sdks: Uid2Sdk[] = [];
  const noFetch = mockFetch(() => {
    throw new Error('no request expected');
  });

  beforeEach(() => {
    vi.useFakeTimers(FAKE_TIMERS);
    vi.setSystemTime(NOW);
    clearAllStorage();
    clearEuid();
  });

  afterEach(() => {
    for (const sdk of sdks.splice(0)) sdk.disconnect();
    clearEuid();
    vi.useRealTimers();
  });

  it('names its storage, operator and client as the reference EUID SDK', () => {
    expect(EUID_PRODUCT).toMatchObject({
      name: 'EUID',
      defaultBaseUrl: 'https://prod.euid.eu',
      localStorageKey: 'EUID-sdk-identity',
      cookieName: '__euid',
      clientId: `euid-sdk-${pkg.version}`,
    });
    expect(UID2_PRODUCT).toMatchObject({ defaultBaseUrl: 'https://prod.uidapi.com', localStorageKey: 'UID2-sdk-identity', cookieName: '__uid_2' });
    expect(new EuidSdk().product).toBe(EUID_PRODUCT);
  });

  it('keeps the identity in EUID-sdk-identity, apart from a UID2 identity on the same page', () => {
    const euid = new EuidSdk();
    const uid2 = new Uid2Sdk();
    sdks.push(euid, uid2);
    const euidIdentity = makeIdentity(NOW, { advertising_token: 'E4euid' });
    const uid2Identity = makeIdentity(NOW, { advertising_token: 'A4uid2' });
    euid.init({ identity: euidIdentity, fetch: noFetch.fetch });
    uid2.init({ identity: uid2Identity, fetch: noFetch.fetch });

    expect(JSON.parse(localStorage.getItem('EUID-sdk-identity')!).advertising_token).toBe('E4euid');
    expect(JSON.parse(localStorage.getItem('UID2-sdk-identity')!).advertising_token).toBe('A4uid2');
    euid.disconnect();
    expect(localStorage.getItem('EUID-sdk-identity')).toBeNull();
    expect(uid2.getAdvertisingToken()).toBe('A4uid2');
  });

  it('uses the __euid cookie with useCookie, and reads it back on the next page', () => {
    const first = new EuidSdk();
    sdks.push(first);
    first.init({ identity: makeIdentity(NOW, { advertising_token: 'E4cookie' }), useCookie: true, fetch: noFetch.fetch });
    expect(JSON.parse(cookie('__euid')!).advertising_token).toBe('E4cookie');
    expect(cookie('__uid_2')).toBeUndefined();
    expect(localStorage.getItem('EUID-sdk-identity')).toBeNull();

    const next = new EuidSdk();
    sdks.push(next);
    next.init({ useCookie: true, fetch: noFetch.fetch });
    expect(next.getAdvertisingToken()).toBe('E4cookie');
    expect(new Uid2Sdk().getIdentity()).toBeNull(); // UID2 does not see the EUID cookie
  });

  it('refreshes against https://prod.euid.eu by default with client=euid-sdk-<version>', async () => {
    const identity = makeIdentity(NOW, { refresh_from: NOW - 1 });
    const refreshed = makeIdentity(NOW, { advertising_token: 'E4refreshed' });
    const op = mockFetch(() => encryptedRefreshResponse(identity, { status: 'success', body: refreshed }));
    const sdk = new EuidSdk();
    sdks.push(sdk);
    sdk.init({ identity, fetch: op.fetch });
    await sdk.getAdvertisingTokenAsync();

    expect(op.requests).toHaveLength(1);
    expect(op.requests[0].url).toBe(`https://prod.euid.eu/v2/token/refresh?client=euid-sdk-${pkg.version}`);
    expect(op.requests[0].body).toBe(identity.refresh_token);
    expect(sdk.getAdvertisingToken()).toBe('E4refreshed');
    expect(JSON.parse(localStorage.getItem('EUID-sdk-identity')!).advertising_token).toBe('E4refreshed');
  });
});

describe('script bundle (window.__euid)', () => {
  async function loadBundle(entry: string): Promise<void> {
    const result = await build({
      entryPoints: [resolve(process.cwd(), entry)],
      bundle: true,
      format: 'iife',
      platform: 'browser',
      target: 'es2020',
      minify: true,
      write: false,
      define: { __UID2_SDK_VERSION__: JSON.stringify(pkg.version) },
    });
    new Function(result.outputFiles[0].text)();
  }

  beforeEach(() => {
    clearAllStorage();
    clearEuid();
    const w = window as unknown as Win;
    for (const name of ['__uid2', '__uid2Helper', 'UID2', '__euid', '__euidHelper', 'EUID']) delete w[name];
  });

  afterEach(() => {
    const w = window as unknown as Win;
    w.__euid?.disconnect?.();
    w.__uid2?.disconnect?.();
  });

  it('installs window.__euid, window.EUID and window.__euidHelper, running handlers queued before it loaded', async () => {
    const w = window as unknown as Win;
    const identity = makeIdentity(Date.now(), { advertising_token: 'E4bundle' });
    const seen: string[] = [];
    w.__euid = { callbacks: [] };
    w.__euid.callbacks.push((event: string) => {
      seen.push(event);
      if (event === 'SdkLoaded') w.__euid.init({ baseUrl: 'https://operator.test', identity, fetch: vi.fn() });
    });

    await loadBundle('src/bundle-euid.ts');

    expect(seen).toEqual(['SdkLoaded', 'InitCompleted']);
    expect(w.__euid.getAdvertisingToken()).toBe('E4bundle');
    expect(w.__euid.product.name).toBe('EUID');
    expect(w.EUID.VERSION).toBe(pkg.version);
    expect(w.__euidHelper.normalizeEmail('A.B+c@gmail.com')).toBe('ab@gmail.com');
    expect(localStorage.getItem('EUID-sdk-identity')).not.toBeNull();
    expect(w.__uid2).toBeUndefined();
  });

  it('both bundles on one page install separate SDKs', async () => {
    await loadBundle('src/bundle.ts');
    await loadBundle('src/bundle-euid.ts');
    const w = window as unknown as Win;
    expect(w.__uid2.product.name).toBe('UID2');
    expect(w.__euid.product.name).toBe('EUID');
    expect(w.__uid2).not.toBe(w.__euid);
  });
});
