import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Uid2Sdk } from '../src/sdk';
import { COOKIE_NAME, IdentityStorage, LOCAL_STORAGE_KEY } from '../src/storage';
import {
  BASE_URL,
  clearAllStorage,
  FAKE_TIMERS,
  makeIdentity,
  mockFetch,
  recordCookieWrites,
  storedCookie,
  storedCookieRaw,
  storedLocal,
} from './helpers';

const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const H = 3600_000;
const D = 24 * H;

describe('identity storage', () => {
  let sdk: Uid2Sdk;
  const noFetch = mockFetch(() => {
    throw new Error('no request expected');
  });

  beforeEach(() => {
    vi.useFakeTimers(FAKE_TIMERS);
    vi.setSystemTime(NOW);
    clearAllStorage();
    sdk = new Uid2Sdk();
  });

  afterEach(() => {
    sdk.disconnect();
    vi.useRealTimers();
  });

  it('stores a passed identity in localStorage UID2-sdk-identity by default', () => {
    const identity = makeIdentity(NOW);
    sdk.init({ baseUrl: BASE_URL, identity, fetch: noFetch.fetch });
    expect(LOCAL_STORAGE_KEY).toBe('UID2-sdk-identity');
    expect(storedLocal()).toEqual(identity);
    expect(storedCookieRaw()).toBeUndefined();
    expect(sdk.getIdentity()).toEqual(identity);
    expect(sdk.getAdvertisingToken()).toBe(identity.advertising_token);
  });

  it('loads an identity from localStorage on init', () => {
    const identity = makeIdentity(NOW);
    localStorage.setItem(LOCAL_STORAGE_KEY, JSON.stringify(identity));
    expect(sdk.getAdvertisingToken()).toBe(identity.advertising_token); // readable before init
    sdk.init({ baseUrl: BASE_URL, fetch: noFetch.fetch });
    expect(sdk.getIdentity()).toEqual(identity);
    expect(sdk.isLoginRequired()).toBe(false);
  });

  it('useCookie writes the URL-encoded JSON cookie __uid_2 with path=/ and expires=refresh_expires', () => {
    const cookies = recordCookieWrites();
    try {
      const identity = makeIdentity(NOW);
      sdk.init({ baseUrl: BASE_URL, identity, useCookie: true, fetch: noFetch.fetch });
      expect(COOKIE_NAME).toBe('__uid_2');
      const write = cookies.writes.find((w) => w.startsWith('__uid_2=%7B'));
      expect(write).toBe(
        `__uid_2=${encodeURIComponent(JSON.stringify(identity))}; path=/; expires=${new Date(identity.refresh_expires).toUTCString()}`,
      );
      expect(storedCookieRaw()).toBe(encodeURIComponent(JSON.stringify(identity)));
      expect(storedCookie()).toEqual(identity);
      expect(storedLocal()).toBeNull();
    } finally {
      cookies.restore();
    }
  });

  it('honours cookieDomain and cookiePath when writing and removing', () => {
    const cookies = recordCookieWrites();
    try {
      const identity = makeIdentity(NOW);
      sdk.init({ baseUrl: BASE_URL, identity, useCookie: true, cookieDomain: 'localhost', cookiePath: '/', fetch: noFetch.fetch });
      expect(cookies.writes[cookies.writes.length - 1]).toMatch(/^__uid_2=%7B.*; path=\/; expires=.*; domain=localhost$/);
      cookies.writes.length = 0;
      sdk.disconnect();
      expect(cookies.writes[0]).toBe(`__uid_2=; path=/; expires=${new Date(0).toUTCString()}; domain=localhost`);
    } finally {
      cookies.restore();
    }
  });

  it('loads an identity from the cookie on init (server-side integration) and moves it to localStorage', () => {
    const identity = makeIdentity(NOW);
    document.cookie = `${COOKIE_NAME}=${encodeURIComponent(JSON.stringify(identity))}; path=/`;
    sdk.init({ baseUrl: BASE_URL, fetch: noFetch.fetch });
    expect(sdk.getIdentity()).toEqual(identity);
    expect(storedLocal()).toEqual(identity);
    expect(storedCookieRaw()).toBeUndefined();
  });

  it('prefers the store whose identity expires later', () => {
    const older = makeIdentity(NOW, { identity_expires: NOW + H });
    const newer = makeIdentity(NOW, { identity_expires: NOW + 2 * H });
    localStorage.setItem(LOCAL_STORAGE_KEY, JSON.stringify(older));
    document.cookie = `${COOKIE_NAME}=${encodeURIComponent(JSON.stringify(newer))}; path=/`;
    expect(new IdentityStorage().load(NOW)).toEqual(newer);
    localStorage.setItem(LOCAL_STORAGE_KEY, JSON.stringify({ ...newer, identity_expires: NOW + 3 * H }));
    expect(new IdentityStorage().load(NOW)?.identity_expires).toBe(NOW + 3 * H);
  });

  it('gives a legacy identity (tokens only) in the cookie the §8 defaults', () => {
    document.cookie = `${COOKIE_NAME}=${encodeURIComponent(
      JSON.stringify({ advertising_token: 'legacy-adv', refresh_token: 'legacy-refresh' }),
    )}; path=/`;
    const { fetch } = mockFetch(() => new Promise<Response>(() => {})); // refresh_from = now: a refresh starts
    sdk.init({ baseUrl: BASE_URL, fetch, useCookie: true });
    expect(storedCookie()).toEqual({
      advertising_token: 'legacy-adv',
      refresh_token: 'legacy-refresh',
      identity_expires: NOW + 4 * H,
      refresh_from: NOW,
      refresh_expires: NOW + 7 * D,
    });
    expect(sdk.getAdvertisingToken()).toBe('legacy-adv');
  });

  it('gives a legacy identity in localStorage or passed to init the same defaults', () => {
    localStorage.setItem(LOCAL_STORAGE_KEY, JSON.stringify({ advertising_token: 'a1', refresh_token: 'r1' }));
    expect(new IdentityStorage().load(NOW)).toEqual({
      advertising_token: 'a1',
      refresh_token: 'r1',
      identity_expires: NOW + 4 * H,
      refresh_from: NOW,
      refresh_expires: NOW + 7 * D,
    });
    const { fetch } = mockFetch(() => new Promise<Response>(() => {}));
    sdk.init({ baseUrl: BASE_URL, fetch, identity: { advertising_token: 'a2', refresh_token: 'r2' } });
    expect(storedLocal()).toMatchObject({ advertising_token: 'a2', refresh_expires: NOW + 7 * D });
  });

  it('a passed identity replaces the stored one', () => {
    const stored = makeIdentity(NOW, { identity_expires: NOW + 2 * H });
    const passed = makeIdentity(NOW, { identity_expires: NOW + H });
    localStorage.setItem(LOCAL_STORAGE_KEY, JSON.stringify(stored));
    sdk.init({ baseUrl: BASE_URL, identity: passed, fetch: noFetch.fetch });
    expect(sdk.getIdentity()).toEqual(passed);
    expect(storedLocal()).toEqual(passed);
  });

  it('ignores unparsable or foreign values', () => {
    localStorage.setItem(LOCAL_STORAGE_KEY, '{not json');
    document.cookie = `${COOKIE_NAME}=%E0%A4%A; path=/`;
    expect(new IdentityStorage().load(NOW)).toBeNull();
    localStorage.setItem(LOCAL_STORAGE_KEY, JSON.stringify({ foo: 1 }));
    expect(new IdentityStorage().load(NOW)).toBeNull();
    sdk.init({ baseUrl: BASE_URL, fetch: noFetch.fetch });
    expect(sdk.isLoginRequired()).toBe(true);
    expect(storedLocal()).toBeNull();
  });

  it('clears an identity whose refresh token has expired (login required)', () => {
    const expired = makeIdentity(NOW - 10 * D);
    localStorage.setItem(LOCAL_STORAGE_KEY, JSON.stringify(expired));
    const events: string[] = [];
    sdk.addEventListener((e) => events.push(e));
    const callback = vi.fn();
    sdk.init({ baseUrl: BASE_URL, fetch: noFetch.fetch, callback });
    expect(sdk.isLoginRequired()).toBe(true);
    expect(sdk.isIdentityAvailable()).toBe(false);
    expect(sdk.getAdvertisingToken()).toBeUndefined();
    expect(storedLocal()).toBeNull();
    expect(events).toEqual(['SdkLoaded', 'InitCompleted', 'NoIdentityAvailable']);
    expect(callback).toHaveBeenCalledWith(expect.objectContaining({ status: Uid2Sdk.IdentityStatus.REFRESH_EXPIRED }));
  });

  it('stores and reloads the opt-out marker', () => {
    sdk.init({ baseUrl: BASE_URL, fetch: noFetch.fetch });
    sdk.setIdentity({ refresh_expires: NOW + H, identity_expires: NOW + H, status: 'optout' });
    expect(storedLocal()).toEqual({ refresh_expires: NOW + H, identity_expires: NOW + H, status: 'optout' });
    const other = new Uid2Sdk();
    other.init({ baseUrl: BASE_URL, fetch: noFetch.fetch });
    expect(other.hasOptedOut()).toBe(true);
    expect(other.isLoginRequired()).toBe(false);
    expect(other.getAdvertisingToken()).toBeUndefined();
    other.disconnect();
  });
});
