import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Identity } from '../src/identity';
import { Uid2Sdk } from '../src/sdk';
import { LOCAL_STORAGE_KEY } from '../src/storage';
import { VERSION } from '../src/version';
import {
  BASE_URL,
  clearAllStorage,
  encryptedRefreshResponse,
  encryptForKey,
  FAKE_TIMERS,
  jsonResponse,
  makeIdentity,
  mockFetch,
  randomKey,
  resetVisibility,
  setVisibility,
  storedLocal,
  textResponse,
} from './helpers';

const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const H = 3600_000;
const REFRESH_URL = `${BASE_URL}/v2/token/refresh?client=uid2-sdk-${VERSION}`;

/** Operator stand-in: answers refreshes of known refresh tokens with responses encrypted under their refresh_response_key. */
function operator(script: (identity: Identity) => unknown | Promise<Response>) {
  const known = new Map<string, Identity>();
  const mock = mockFetch(async (req) => {
    const identity = known.get(req.body);
    if (!identity) return jsonResponse({ status: 'error', message: 'Error refreshing token' }, 400);
    const reply = await script(identity);
    if (reply instanceof Response) return reply;
    return encryptedRefreshResponse(identity, reply);
  });
  return { ...mock, know: (...ids: Identity[]) => ids.forEach((i) => known.set(i.refresh_token, i)) };
}

describe('token refresh', () => {
  let sdk: Uid2Sdk;
  let events: string[];

  beforeEach(() => {
    vi.useFakeTimers(FAKE_TIMERS);
    vi.setSystemTime(NOW);
    clearAllStorage();
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    sdk = new Uid2Sdk();
    events = [];
    sdk.addEventListener((e) => events.push(e));
    events.length = 0; // drop the SdkLoaded replay
  });

  afterEach(() => {
    sdk.disconnect();
    resetVisibility();
    vi.useRealTimers();
  });

  it('refreshes on the timer once refresh_from has passed, decrypting the response with refresh_response_key', async () => {
    const first = makeIdentity(NOW, { refresh_from: NOW + 7000 });
    const second = makeIdentity(NOW + 10_000);
    const op = operator(() => ({ status: 'success', body: second }));
    op.know(first);
    sdk.init({ baseUrl: BASE_URL, identity: first, fetch: op.fetch });
    expect(op.requests).toHaveLength(0);

    await vi.advanceTimersByTimeAsync(5000); // first tick: refresh_from not reached
    expect(op.requests).toHaveLength(0);

    await vi.advanceTimersByTimeAsync(5000); // second tick at +10 s: due
    expect(op.requests).toHaveLength(1);
    expect(op.requests[0]).toMatchObject({ url: REFRESH_URL, method: 'POST', body: first.refresh_token });
    expect(op.requests[0].headers['content-type']).toMatch(/^text\/plain/);

    expect(await sdk.getAdvertisingTokenAsync()).toBe(second.advertising_token);
    expect(sdk.getIdentity()).toEqual(second);
    expect(storedLocal()).toEqual(second);
    expect(events).toEqual(['InitCompleted', 'IdentityUpdated']);

    await vi.advanceTimersByTimeAsync(60_000); // the new identity is not due yet
    expect(op.requests).toHaveLength(1);
  });

  it('refreshes immediately on init when refresh_from has passed; getAdvertisingTokenAsync waits for it', async () => {
    const stale = makeIdentity(NOW - 2 * H + 60_000, { refresh_from: NOW - 1000, identity_expires: NOW - 1 });
    const fresh = makeIdentity(NOW);
    const op = operator(() => ({ status: 'success', body: fresh }));
    op.know(stale);
    localStorage.setItem(LOCAL_STORAGE_KEY, JSON.stringify(stale));
    const tokenPromise = sdk.getAdvertisingTokenAsync(); // before init
    const callback = vi.fn();
    sdk.init({ baseUrl: BASE_URL, fetch: op.fetch, callback });
    expect(op.requests).toHaveLength(1);
    expect(sdk.getAdvertisingToken()).toBeUndefined(); // identity_expires passed: not usable while refreshing
    expect(sdk.isLoginRequired()).toBe(false);
    expect(sdk.isIdentityAvailable()).toBe(true);
    expect(await tokenPromise).toBe(fresh.advertising_token);
    expect(callback.mock.calls.map((c) => c[0].status)).toEqual([
      Uid2Sdk.IdentityStatus.EXPIRED,
      Uid2Sdk.IdentityStatus.REFRESHED,
    ]);
    expect(callback).toHaveBeenLastCalledWith({
      advertisingToken: fresh.advertising_token,
      advertising_token: fresh.advertising_token,
      status: Uid2Sdk.IdentityStatus.REFRESHED,
      statusText: 'Identity refreshed',
    });
  });

  it('optout response: stores the opt-out marker and fires OptoutReceived', async () => {
    const identity = makeIdentity(NOW, { refresh_from: NOW - 1 });
    const op = operator(() => ({ status: 'optout' }));
    op.know(identity);
    sdk.init({ baseUrl: BASE_URL, identity, fetch: op.fetch });
    expect(await sdk.getAdvertisingTokenAsync()).toBeUndefined();
    expect(storedLocal()).toEqual({ refresh_expires: NOW + 72 * H, identity_expires: NOW + 72 * H, status: 'optout' });
    expect(sdk.hasOptedOut()).toBe(true);
    expect(sdk.isLoginRequired()).toBe(false);
    expect(sdk.getIdentity()).toBeNull();
    expect(events).toEqual(['InitCompleted', 'OptoutReceived', 'IdentityUpdated']);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(op.requests).toHaveLength(1); // no more refreshes once opted out
  });

  it('expired_token (400, plain JSON): clears the identity', async () => {
    const identity = makeIdentity(NOW, { refresh_from: NOW - 1 });
    const op = operator(() => jsonResponse({ status: 'expired_token', message: 'Expired Token' }, 400));
    op.know(identity);
    sdk.init({ baseUrl: BASE_URL, identity, fetch: op.fetch });
    expect(await sdk.getAdvertisingTokenAsync()).toBeUndefined();
    expect(sdk.isLoginRequired()).toBe(true);
    expect(sdk.hasOptedOut()).toBe(false);
    expect(storedLocal()).toBeNull();
    expect(events).toEqual(['InitCompleted', 'IdentityUpdated', 'NoIdentityAvailable']);
  });

  it('other errors keep the identity and retry on the next tick until success', async () => {
    const identity = makeIdentity(NOW, { refresh_from: NOW - 1 });
    const next = makeIdentity(NOW);
    let calls = 0;
    const op = operator(() =>
      ++calls < 3 ? jsonResponse({ status: 'error', message: 'Error refreshing token' }, 400) : { status: 'success', body: next },
    );
    op.know(identity);
    sdk.init({ baseUrl: BASE_URL, identity, fetch: op.fetch, refreshRetryPeriod: 2000 });
    expect(await sdk.getAdvertisingTokenAsync()).toBe(identity.advertising_token);
    expect(storedLocal()).toEqual(identity);
    expect(events).toEqual(['InitCompleted']);
    await vi.advanceTimersByTimeAsync(2000);
    expect(op.requests).toHaveLength(2);
    expect(await sdk.getAdvertisingTokenAsync()).toBe(identity.advertising_token);
    await vi.advanceTimersByTimeAsync(2000);
    expect(op.requests).toHaveLength(3);
    expect(await sdk.getAdvertisingTokenAsync()).toBe(next.advertising_token);
    expect(console.warn).toHaveBeenCalledTimes(2);
  });

  it('network failures and undecryptable responses are retried like other errors', async () => {
    const identity = makeIdentity(NOW, { refresh_from: NOW - 1 });
    let calls = 0;
    const op = operator(async () => {
      calls++;
      if (calls === 1) throw new TypeError('Failed to fetch');
      return textResponse(await encryptForKey('{"status":"success"}', randomKey())); // wrong key
    });
    op.know(identity);
    sdk.init({ baseUrl: BASE_URL, identity, fetch: op.fetch });
    expect(await sdk.getAdvertisingTokenAsync()).toBe(identity.advertising_token);
    await vi.advanceTimersByTimeAsync(5000);
    expect(await sdk.getAdvertisingTokenAsync()).toBe(identity.advertising_token);
    expect(op.requests).toHaveLength(2);
    expect(sdk.getIdentity()).toEqual(identity);
  });

  it('an identity without refresh_response_key reads the refresh response as plain JSON', async () => {
    const identity = makeIdentity(NOW, { refresh_from: NOW - 1 });
    delete identity.refresh_response_key;
    const next = makeIdentity(NOW);
    const op = operator(() => jsonResponse({ status: 'success', body: next }));
    op.know(identity);
    sdk.init({ baseUrl: BASE_URL, identity, fetch: op.fetch });
    expect(await sdk.getAdvertisingTokenAsync()).toBe(next.advertising_token);
  });

  it('clears the identity when refresh_expires passes while refreshes keep failing', async () => {
    const identity = makeIdentity(NOW, { refresh_from: NOW - 1, identity_expires: NOW + 6000, refresh_expires: NOW + 12_000 });
    const op = operator(() => jsonResponse({ status: 'error', message: 'Error refreshing token' }, 400));
    op.know(identity);
    sdk.init({ baseUrl: BASE_URL, identity, fetch: op.fetch });
    await sdk.getAdvertisingTokenAsync();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sdk.isLoginRequired()).toBe(false);
    expect(sdk.getAdvertisingToken()).toBeUndefined(); // identity_expires passed
    await vi.advanceTimersByTimeAsync(5000);
    expect(sdk.isLoginRequired()).toBe(true);
    expect(storedLocal()).toBeNull();
    expect(events.slice(-2)).toEqual(['IdentityUpdated', 'NoIdentityAvailable']);
    const count = op.requests.length;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(op.requests).toHaveLength(count); // timer stopped
  });

  it('refreshIntervalMs forces a refresh of a visible page even before refresh_from', async () => {
    const first = makeIdentity(NOW, { refresh_from: NOW + 10 * H, identity_expires: NOW + 20 * H, refresh_expires: NOW + 30 * H });
    const second = makeIdentity(NOW + 300_000);
    const op = operator((i) => ({ status: 'success', body: i === first ? second : makeIdentity(Date.now()) }));
    op.know(first, second);
    sdk.init({ baseUrl: BASE_URL, identity: first, fetch: op.fetch });
    await vi.advanceTimersByTimeAsync(295_000);
    expect(op.requests).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(5000); // 5 minutes since the identity was obtained
    expect(op.requests).toHaveLength(1);
    expect(await sdk.getAdvertisingTokenAsync()).toBe(second.advertising_token);

    setVisibility('hidden'); // hidden pages only follow refresh_from
    await vi.advanceTimersByTimeAsync(600_000);
    expect(op.requests).toHaveLength(1);
    setVisibility('visible'); // the user is back: refreshed before use
    expect(op.requests).toHaveLength(2);
    expect(op.requests[1].body).toBe(second.refresh_token);
  });

  it('refreshIntervalMs: 0 disables the forced refresh', async () => {
    const first = makeIdentity(NOW, { refresh_from: NOW + 10 * H, identity_expires: NOW + 20 * H, refresh_expires: NOW + 30 * H });
    const op = operator(() => ({ status: 'success', body: makeIdentity(Date.now()) }));
    op.know(first);
    sdk.init({ baseUrl: BASE_URL, identity: first, fetch: op.fetch, refreshIntervalMs: 0 });
    await vi.advanceTimersByTimeAsync(3600_000);
    expect(op.requests).toHaveLength(0);
  });

  it('becoming visible triggers a due refresh without waiting for the timer', async () => {
    const identity = makeIdentity(NOW, { refresh_from: NOW + 1000 });
    const next = makeIdentity(NOW);
    const op = operator(() => ({ status: 'success', body: next }));
    op.know(identity);
    sdk.init({ baseUrl: BASE_URL, identity, fetch: op.fetch, refreshRetryPeriod: 60_000 });
    setVisibility('hidden');
    vi.setSystemTime(NOW + 2000);
    expect(op.requests).toHaveLength(0);
    setVisibility('visible');
    expect(op.requests).toHaveLength(1);
    expect(await sdk.getAdvertisingTokenAsync()).toBe(next.advertising_token);
  });

  it('setIdentity during a refresh wins over the refresh result', async () => {
    const identity = makeIdentity(NOW, { refresh_from: NOW - 1 });
    const refreshed = makeIdentity(NOW);
    const manual = makeIdentity(NOW);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const op = operator(async () => {
      await gate;
      return { status: 'success', body: refreshed };
    });
    op.know(identity);
    sdk.init({ baseUrl: BASE_URL, identity, fetch: op.fetch });
    await vi.waitFor(() => expect(op.requests).toHaveLength(1));
    sdk.setIdentity(manual);
    release();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(sdk.getIdentity()).toEqual(manual);
    expect(storedLocal()).toEqual(manual);
  });

  it('picks up an identity refreshed by another page sharing the storage', async () => {
    const identity = makeIdentity(NOW);
    const op = operator(() => ({ status: 'error' }));
    sdk.init({ baseUrl: BASE_URL, identity, fetch: op.fetch });
    const newer = makeIdentity(NOW + 1000);
    localStorage.setItem(LOCAL_STORAGE_KEY, JSON.stringify(newer));
    await vi.advanceTimersByTimeAsync(5000);
    expect(sdk.getIdentity()).toEqual(newer);
    expect(events).toContain('IdentityUpdated');
    expect(op.requests).toHaveLength(0);
  });
});
