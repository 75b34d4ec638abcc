import { vi } from 'vitest';
import type { Identity } from '../src/identity';
import { LOCAL_STORAGE_KEY, COOKIE_NAME } from '../src/storage';

export const BASE_URL = 'https://operator.test';

export function b64(bytes: Uint8Array | ArrayBuffer): string {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  return Buffer.from(u8).toString('base64');
}

export function unb64(text: string): Uint8Array<ArrayBuffer> {
  const buf = Buffer.from(text, 'base64');
  const out = new Uint8Array(buf.length);
  out.set(buf);
  return out;
}

export function randomKey(): string {
  return b64(crypto.getRandomValues(new Uint8Array(32)));
}

let counter = 0;

/** A well-formed identity whose times are relative to `now`. */
export function makeIdentity(now = Date.now(), overrides: Partial<Identity> = {}): Identity {
  counter++;
  return {
    advertising_token: `A4AAAAtoken${counter}`,
    refresh_token: `refresh-token-${counter}`,
    identity_expires: now + 3600_000,
    refresh_from: now + 900_000,
    refresh_expires: now + 86_400_000,
    refresh_response_key: randomKey(),
    ...overrides,
  };
}

/** AES-256-GCM encrypts `plaintext` under a base64 key: base64(IV(12) || ciphertext || tag(16)). */
export async function encryptForKey(plaintext: string, base64Key: string, aad?: Uint8Array<ArrayBuffer>): Promise<string> {
  const key = await crypto.subtle.importKey('raw', unb64(base64Key), 'AES-GCM', false, ['encrypt']);
  return encryptWithCryptoKey(plaintext, key, aad);
}

export async function encryptWithCryptoKey(
  plaintext: string,
  key: CryptoKey,
  aad?: Uint8Array<ArrayBuffer>,
): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const params: AesGcmParams = { name: 'AES-GCM', iv };
  if (aad) params.additionalData = aad;
  const ct = new Uint8Array(await crypto.subtle.encrypt(params, key, new TextEncoder().encode(plaintext)));
  const out = new Uint8Array(12 + ct.length);
  out.set(iv);
  out.set(ct, 12);
  return b64(out);
}

export interface RecordedRequest {
  url: string;
  method: string;
  body: string;
  headers: Record<string, string>;
}

export type Handler = (req: RecordedRequest) => Response | Promise<Response>;

/** A fetch mock that records requests and answers with `handler`. */
export function mockFetch(handler: Handler) {
  const requests: RecordedRequest[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((v, k) => (headers[k.toLowerCase()] = v));
    const req: RecordedRequest = {
      url: String(input),
      method: init?.method ?? 'GET',
      body: typeof init?.body === 'string' ? init.body : '',
      headers,
    };
    requests.push(req);
    return handler(req);
  });
  return { fetch: fn as unknown as typeof fetch, requests, fn };
}

export function textResponse(body: string, status = 200): Response {
  return new Response(body, { status, headers: { 'Content-Type': 'text/plain' } });
}

export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

/** Operator-like refresh endpoint: the response to a refresh of `identity` is encrypted with its refresh_response_key. */
export async function encryptedRefreshResponse(identity: Identity, payload: unknown): Promise<Response> {
  return textResponse(await encryptForKey(JSON.stringify(payload), identity.refresh_response_key!));
}

export function clearAllStorage(): void {
  localStorage.clear();
  for (const path of ['/', '/app']) {
    document.cookie = `${COOKIE_NAME}=; path=${path}; expires=${new Date(0).toUTCString()}`;
  }
}

export function storedLocal(): unknown {
  const v = localStorage.getItem(LOCAL_STORAGE_KEY);
  return v === null ? null : JSON.parse(v);
}

export function storedCookieRaw(): string | undefined {
  const entry = document.cookie
    .split(';')
    .map((s) => s.trim())
    .find((s) => s.startsWith(COOKIE_NAME + '='));
  return entry?.substring(COOKIE_NAME.length + 1);
}

export function storedCookie(): unknown {
  const raw = storedCookieRaw();
  return raw === undefined || raw === '' ? null : JSON.parse(decodeURIComponent(raw));
}

/** Records every string assigned to document.cookie (the getter only exposes name=value pairs). */
export function recordCookieWrites(): { writes: string[]; restore: () => void } {
  let proto: object | null = Object.getPrototypeOf(document);
  let desc: PropertyDescriptor | undefined;
  while (proto && !(desc = Object.getOwnPropertyDescriptor(proto, 'cookie'))) proto = Object.getPrototypeOf(proto);
  if (!desc?.get || !desc.set) throw new Error('document.cookie accessor not found');
  const { get, set } = desc;
  const writes: string[] = [];
  Object.defineProperty(document, 'cookie', {
    configurable: true,
    get() {
      return get.call(document);
    },
    set(value: string) {
      writes.push(value);
      set.call(document, value);
    },
  });
  return { writes, restore: () => delete (document as unknown as Record<string, unknown>).cookie };
}

export function setVisibility(state: 'visible' | 'hidden'): void {
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state });
  document.dispatchEvent(new Event('visibilitychange'));
}

export function resetVisibility(): void {
  delete (document as unknown as Record<string, unknown>).visibilityState;
}

/** Fake only timers and Date; WebCrypto and setImmediate stay real. */
export const FAKE_TIMERS: Parameters<typeof vi.useFakeTimers>[0] = {
  toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
};
