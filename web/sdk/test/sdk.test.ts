import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EventType, Uid2Sdk, type EventPayload } from '../src/sdk';
import { LOCAL_STORAGE_KEY } from '../src/storage';
import {
  BASE_URL,
  clearAllStorage,
  FAKE_TIMERS,
  jsonResponse,
  makeIdentity,
  mockFetch,
  storedCookieRaw,
  storedLocal,
} from './helpers';

const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const H = 3600_000;

describe('SDK API and events', () => {
  let sdk: Uid2Sdk;
  const failFetch = mockFetch(() => jsonResponse({ status: 'error', message: 'Error refreshing token' }, 400));

  beforeEach(() => {
    vi.useFakeTimers(FAKE_TIMERS);
    vi.setSystemTime(NOW);
    clearAllStorage();
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    failFetch.requests.length = 0;
    sdk = new Uid2Sdk();
  });

  afterEach(() => {
    sdk.disconnect();
    vi.useRealTimers();
  });

  it('has no token and requires login before anything is stored', async () => {
    expect(sdk.getAdvertisingToken()).toBeUndefined();
    expect(sdk.getIdentity()).toBeNull();
    expect(sdk.isLoginRequired()).toBe(true);
    expect(sdk.isIdentityAvailable()).toBe(false);
    expect(sdk.hasOptedOut()).toBe(false);
    expect(sdk.isInitComplete()).toBe(false);
    const callback = vi.fn();
    sdk.init({ baseUrl: BASE_URL, fetch: failFetch.fetch, callback });
    expect(sdk.isInitComplete()).toBe(true);
    expect(callback).toHaveBeenCalledWith({
      advertisingToken: undefined,
      advertising_token: undefined,
      status: Uid2Sdk.IdentityStatus.NO_IDENTITY,
      statusText: 'Identity not available',
    });
    expect(await sdk.getAdvertisingTokenAsync()).toBeUndefined();
  });

  it('replays SdkLoaded and InitCompleted to handlers added later, and delivers the identity in payloads', () => {
    const identity = makeIdentity(NOW);
    const early: Array<[string, EventPayload]> = [];
    const sdk2 = new Uid2Sdk([(e, p) => early.push([e, p])]);
    expect(early).toEqual([['SdkLoaded', { identity: null }]]);
    sdk2.init({ baseUrl: BASE_URL, identity, fetch: failFetch.fetch });
    expect(early[1]).toEqual(['InitCompleted', { identity }]);

    const late: string[] = [];
    sdk2.callbacks.push((e) => late.push(e));
    expect(late).toEqual(['SdkLoaded', 'InitCompleted']);

    const unsubscribe = sdk2.addEventListener((e) => late.push(`listener:${e}`));
    expect(late.slice(2)).toEqual(['listener:SdkLoaded', 'listener:InitCompleted']);
    unsubscribe();
    sdk2.setIdentity(makeIdentity(NOW));
    expect(late.slice(4)).toEqual(['IdentityUpdated']);
    sdk2.disconnect();
  });

  it('a throwing handler does not break the others', () => {
    const seen: string[] = [];
    sdk.addEventListener(() => {
      throw new Error('boom');
    });
    sdk.addEventListener((e) => seen.push(e));
    sdk.init({ baseUrl: BASE_URL, fetch: failFetch.fetch });
    expect(seen).toEqual(['SdkLoaded', 'InitCompleted', 'NoIdentityAvailable']);
    expect(console.warn).toHaveBeenCalled();
  });

  it('setIdentity stores the identity and fires IdentityUpdated', () => {
    const events: Array<[string, EventPayload]> = [];
    sdk.init({ baseUrl: BASE_URL, fetch: failFetch.fetch });
    sdk.addEventListener((e, p) => events.push([e, p]));
    const identity = makeIdentity(NOW);
    sdk.setIdentity(identity);
    expect(events.at(-1)).toEqual(['IdentityUpdated', { identity }]);
    expect(sdk.getAdvertisingToken()).toBe(identity.advertising_token);
    expect(storedLocal()).toEqual(identity);
    expect(() => sdk.setIdentity({ foo: 1 } as never)).toThrow(TypeError);
  });

  it('setIdentity with the opt-out marker fires OptoutReceived', () => {
    const events: string[] = [];
    sdk.init({ baseUrl: BASE_URL, identity: makeIdentity(NOW), fetch: failFetch.fetch });
    sdk.addEventListener((e) => events.push(e));
    sdk.setIdentity({ status: 'optout', identity_expires: NOW + H, refresh_expires: NOW + H });
    expect(events.slice(2)).toEqual([EventType.OptoutReceived, EventType.IdentityUpdated]);
    expect(sdk.hasOptedOut()).toBe(true);
    expect(sdk.getAdvertisingToken()).toBeUndefined();
  });

  it('an opted-out user loaded at init gets OptoutReceived after InitCompleted', () => {
    localStorage.setItem(LOCAL_STORAGE_KEY, JSON.stringify({ refresh_expires: NOW + H, identity_expires: NOW + H, status: 'optout' }));
    const events: string[] = [];
    sdk.addEventListener((e) => events.push(e));
    const callback = vi.fn();
    sdk.init({ baseUrl: BASE_URL, fetch: failFetch.fetch, callback });
    expect(events).toEqual(['SdkLoaded', 'InitCompleted', 'OptoutReceived']);
    expect(callback.mock.calls[0][0].status).toBe(Uid2Sdk.IdentityStatus.OPTOUT);
    // the marker expires after its lifetime: login required again
    vi.setSystemTime(NOW + H + 1);
    expect(sdk.hasOptedOut()).toBe(false);
    expect(sdk.isLoginRequired()).toBe(true);
  });

  it('an identity whose advertising token expired but can be refreshed is not usable yet does not require login', () => {
    const identity = makeIdentity(NOW - 2 * H, { refresh_from: NOW + H, identity_expires: NOW - 1 });
    sdk.init({ baseUrl: BASE_URL, identity, fetch: failFetch.fetch, refreshIntervalMs: 0 });
    expect(sdk.getAdvertisingToken()).toBeUndefined();
    expect(sdk.getIdentity()).toBeNull();
    expect(sdk.isIdentityAvailable()).toBe(true);
    expect(sdk.isLoginRequired()).toBe(false);
  });

  it('disconnect clears localStorage and the cookie, stops the timer and fires events', async () => {
    const identity = makeIdentity(NOW, { refresh_from: NOW + 1000 });
    document.cookie = `__uid_2=${encodeURIComponent(JSON.stringify(makeIdentity(NOW - H)))}; path=/`;
    sdk.init({ baseUrl: BASE_URL, identity, fetch: failFetch.fetch });
    const events: Array<[string, EventPayload]> = [];
    sdk.addEventListener((e, p) => events.push([e, p]));
    events.length = 0;
    sdk.disconnect();
    expect(events).toEqual([
      ['IdentityUpdated', { identity: null }],
      ['NoIdentityAvailable', { identity: null }],
    ]);
    expect(storedLocal()).toBeNull();
    expect(storedCookieRaw()).toBeUndefined();
    expect(sdk.getAdvertisingToken()).toBeUndefined();
    expect(sdk.isLoginRequired()).toBe(true);
    expect(await sdk.getAdvertisingTokenAsync()).toBeUndefined();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(failFetch.requests).toHaveLength(0);
  });

  it('disconnect also clears a cookie identity written with useCookie', () => {
    sdk.init({ baseUrl: BASE_URL, identity: makeIdentity(NOW), useCookie: true, fetch: failFetch.fetch });
    expect(storedCookieRaw()).toBeDefined();
    sdk.disconnect();
    expect(storedCookieRaw()).toBeUndefined();
  });

  it('disconnect resolves pending getAdvertisingTokenAsync calls made before init', async () => {
    const pending = sdk.getAdvertisingTokenAsync();
    sdk.disconnect();
    expect(await pending).toBeUndefined();
  });

  it('validates options', () => {
    expect(() => sdk.init(null as never)).toThrow(TypeError);
    expect(() => sdk.init({ baseUrl: 5 as never })).toThrow(TypeError);
    expect(() => sdk.init({ refreshRetryPeriod: 10 })).toThrow(RangeError);
    expect(() => sdk.init({ refreshIntervalMs: -1 })).toThrow(RangeError);
    expect(() => sdk.init({ callback: 'x' as never })).toThrow(TypeError);
    expect(() => sdk.setIdentity(makeIdentity(NOW))).toThrow('before calling init');
  });

  it('an invalid identity passed to init is reported and nothing is stored', () => {
    localStorage.setItem(LOCAL_STORAGE_KEY, JSON.stringify(makeIdentity(NOW)));
    const callback = vi.fn();
    sdk.init({ baseUrl: BASE_URL, identity: { advertising_token: '' } as never, fetch: failFetch.fetch, callback });
    expect(callback.mock.calls[0][0].status).toBe(Uid2Sdk.IdentityStatus.INVALID);
    expect(storedLocal()).toBeNull();
  });

  it('uses the global fetch and trims a trailing slash of baseUrl', async () => {
    const identity = makeIdentity(NOW, { refresh_from: NOW - 1 });
    delete identity.refresh_response_key;
    const next = makeIdentity(NOW);
    const global = mockFetch(() => jsonResponse({ status: 'success', body: next }));
    vi.stubGlobal('fetch', global.fetch);
    try {
      sdk.init({ baseUrl: `${BASE_URL}/`, identity });
      expect(await sdk.getAdvertisingTokenAsync()).toBe(next.advertising_token);
      expect(global.requests[0].url.startsWith(`${BASE_URL}/v2/token/refresh?client=uid2-sdk-`)).toBe(true);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('re-init with a new identity replaces the current one', () => {
    sdk.init({ baseUrl: BASE_URL, identity: makeIdentity(NOW), fetch: failFetch.fetch });
    const replacement = makeIdentity(NOW);
    sdk.init({ baseUrl: BASE_URL, identity: replacement, fetch: failFetch.fetch });
    expect(sdk.getIdentity()).toEqual(replacement);
    expect(storedLocal()).toEqual(replacement);
  });
});
