import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Uid2ApiError } from '../src/api';
import type { Identity } from '../src/identity';
import { Uid2Sdk } from '../src/sdk';
import { VERSION } from '../src/version';
import {
  b64,
  BASE_URL,
  clearAllStorage,
  encryptForKey,
  encryptWithCryptoKey,
  jsonResponse,
  makeIdentity,
  mockFetch,
  storedLocal,
  textResponse,
  unb64,
} from './helpers';

const SUBSCRIPTION_ID = 'sub-4WvryDGbR5';
const USER_EMAIL_HASH = 'tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ='; // user@example.com
const PHONE_HASH = 'EObwtHBUqDNZR33LNSMdtt5cafsYFuGmuY4ZLenlue4='; // +12345678901
const CSTG_URL = `${BASE_URL}/v2/token/client-generate?client=uid2-sdk-${VERSION}`;

interface ServerRequest {
  payload: string;
  iv: string;
  public_key: string;
  timestamp: number;
  subscription_id: string;
}

/**
 * Plays the operator's /v2/token/client-generate: imports the client's public key, derives the ECDH secret with the
 * server private key, decrypts the payload (AAD = JSON [timestamp]) and answers with an encrypted reply.
 */
async function makeServer(reply: (request: Record<string, string>) => unknown) {
  const pair = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits'])) as CryptoKeyPair;
  const serverPublicKey = 'UID2-X-L-' + b64(await crypto.subtle.exportKey('spki', pair.publicKey));
  const decrypted: Array<Record<string, string>> = [];
  const aadChecks: boolean[] = [];

  const mock = mockFetch(async (req) => {
    const body = JSON.parse(req.body) as ServerRequest;
    if (body.subscription_id !== SUBSCRIPTION_ID) return jsonResponse({ status: 'client_error', message: 'bad subscription_id' }, 400);
    const clientKey = await crypto.subtle.importKey('spki', unb64(body.public_key), { name: 'ECDH', namedCurve: 'P-256' }, false, []);
    const secret = await crypto.subtle.deriveBits({ name: 'ECDH', public: clientKey }, pair.privateKey, 256);
    const key = await crypto.subtle.importKey('raw', secret, 'AES-GCM', false, ['encrypt', 'decrypt']);
    const iv = unb64(body.iv);
    expect(iv).toHaveLength(12);
    const aad = new TextEncoder().encode(JSON.stringify([body.timestamp]));
    const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: aad }, key, unb64(body.payload));
    // The AAD really is part of the tag: decrypting without it must fail.
    aadChecks.push(
      await crypto.subtle.decrypt({ name: 'AES-GCM', iv }, key, unb64(body.payload)).then(
        () => false,
        () => true,
      ),
    );
    const request = JSON.parse(new TextDecoder().decode(plain)) as Record<string, string>;
    decrypted.push(request);
    const answer = reply(request);
    if (answer instanceof Response) return answer;
    return textResponse(await encryptWithCryptoKey(JSON.stringify(answer), key));
  });
  return { serverPublicKey, decrypted, aadChecks, ...mock };
}

describe('client-side token generation', () => {
  let sdk: Uid2Sdk;
  let identity: Identity;
  const success = () => ({ status: 'success', body: identity });

  beforeEach(() => {
    clearAllStorage();
    sdk = new Uid2Sdk();
    identity = makeIdentity(Date.now());
  });

  afterEach(() => sdk.disconnect());

  it('setIdentityFromEmail: normalizes, hashes, encrypts to the server key and decrypts the encrypted identity', async () => {
    const server = await makeServer(success);
    sdk.init({ baseUrl: BASE_URL, fetch: server.fetch });
    const events: string[] = [];
    sdk.addEventListener((e) => events.push(e));

    const before = Date.now();
    await sdk.setIdentityFromEmail('  User@Example.com', { serverPublicKey: server.serverPublicKey, subscriptionId: SUBSCRIPTION_ID });

    expect(server.decrypted).toEqual([{ email_hash: USER_EMAIL_HASH }]);
    expect(server.aadChecks).toEqual([true]);
    const req = server.requests[0];
    expect(req.url).toBe(CSTG_URL);
    expect(req.method).toBe('POST');
    const body = JSON.parse(req.body) as ServerRequest;
    expect(Object.keys(body).sort()).toEqual(['iv', 'payload', 'public_key', 'subscription_id', 'timestamp']);
    expect(body.timestamp).toBeGreaterThanOrEqual(before);
    expect(unb64(body.public_key).length).toBe(91); // SPKI of an uncompressed P-256 point
    expect(unb64(body.payload).length).toBe(JSON.stringify({ email_hash: USER_EMAIL_HASH }).length + 16);

    expect(sdk.getIdentity()).toEqual(identity);
    expect(await sdk.getAdvertisingTokenAsync()).toBe(identity.advertising_token);
    expect(storedLocal()).toEqual(identity);
    expect(events.slice(-1)).toEqual(['IdentityUpdated']);
  });

  it('setIdentityFromEmailHash, setIdentityFromPhone and setIdentityFromPhoneHash send the right field', async () => {
    const server = await makeServer(success);
    sdk.init({ baseUrl: BASE_URL, fetch: server.fetch });
    const opts = { serverPublicKey: server.serverPublicKey, subscriptionId: SUBSCRIPTION_ID };
    await sdk.setIdentityFromEmailHash(USER_EMAIL_HASH, opts);
    await sdk.setIdentityFromPhone('+12345678901', opts);
    await sdk.setIdentityFromPhoneHash(PHONE_HASH, opts);
    expect(server.decrypted).toEqual([{ email_hash: USER_EMAIL_HASH }, { phone_hash: PHONE_HASH }, { phone_hash: PHONE_HASH }]);
    expect(server.aadChecks).toEqual([true, true, true]);
  });

  it('optout: stores the opt-out marker and fires OptoutReceived', async () => {
    const server = await makeServer(() => ({ status: 'optout' }));
    sdk.init({ baseUrl: BASE_URL, fetch: server.fetch });
    const events: string[] = [];
    sdk.addEventListener((e) => events.push(e));
    await sdk.setIdentityFromEmail('optout@example.com', { serverPublicKey: server.serverPublicKey, subscriptionId: SUBSCRIPTION_ID });
    expect(sdk.hasOptedOut()).toBe(true);
    expect(sdk.getAdvertisingToken()).toBeUndefined();
    expect(storedLocal()).toMatchObject({ status: 'optout' });
    expect(events.slice(2)).toEqual(['OptoutReceived', 'IdentityUpdated']);
  });

  it('rejects with the protocol message on errors', async () => {
    const server = await makeServer((request) =>
      request.email_hash ? jsonResponse({ status: 'invalid_http_origin', message: 'unexpected http origin' }, 403) : success(),
    );
    sdk.init({ baseUrl: BASE_URL, fetch: server.fetch });
    const opts = { serverPublicKey: server.serverPublicKey, subscriptionId: 'unknown' };
    const err = await sdk.setIdentityFromEmail('user@example.com', opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Uid2ApiError);
    expect(err).toMatchObject({ message: 'bad subscription_id', status: 'client_error', httpStatus: 400 });

    await expect(
      sdk.setIdentityFromEmail('user@example.com', { ...opts, subscriptionId: SUBSCRIPTION_ID }),
    ).rejects.toMatchObject({ message: 'unexpected http origin', status: 'invalid_http_origin', httpStatus: 403 });
    expect(sdk.isLoginRequired()).toBe(true);
  });

  it('rejects a 200 response that does not decrypt with the shared key', async () => {
    const server = await makeServer(() => textResponse(b64(crypto.getRandomValues(new Uint8Array(64)))));
    sdk.init({ baseUrl: BASE_URL, fetch: server.fetch });
    await expect(
      sdk.setIdentityFromEmail('user@example.com', { serverPublicKey: server.serverPublicKey, subscriptionId: SUBSCRIPTION_ID }),
    ).rejects.toThrow('Could not decrypt');
  });

  it('validates input before sending anything', async () => {
    const server = await makeServer(success);
    const opts = { serverPublicKey: server.serverPublicKey, subscriptionId: SUBSCRIPTION_ID };
    await expect(sdk.setIdentityFromEmail('user@example.com', opts)).rejects.toThrow('before calling init');
    sdk.init({ baseUrl: BASE_URL, fetch: server.fetch });
    await expect(sdk.setIdentityFromEmail('a@ba@z.com', opts)).rejects.toThrow('Invalid email address');
    await expect(sdk.setIdentityFromEmail('', opts)).rejects.toThrow('Invalid email address');
    await expect(sdk.setIdentityFromPhone('12345678901', opts)).rejects.toThrow('Invalid phone number');
    await expect(sdk.setIdentityFromEmailHash('not-a-hash', opts)).rejects.toThrow('Invalid hash');
    await expect(sdk.setIdentityFromPhoneHash(USER_EMAIL_HASH.slice(1), opts)).rejects.toThrow('Invalid hash');
    await expect(sdk.setIdentityFromEmail('user@example.com', { ...opts, serverPublicKey: 'abc' })).rejects.toThrow(TypeError);
    await expect(sdk.setIdentityFromEmail('user@example.com', { ...opts, subscriptionId: '' })).rejects.toThrow(TypeError);
    expect(server.requests).toHaveLength(0);
  });

  it('the CSTG identity is then refreshed like any other (encrypted with its refresh_response_key)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const now = Date.now();
      identity = makeIdentity(now, { refresh_from: now + 1000 });
      const next = makeIdentity(now);
      const server = await makeServer(success);
      const refreshes: string[] = [];
      const fetchBoth = (async (input: RequestInfo | URL, init?: RequestInit) => {
        if (String(input).includes('/v2/token/refresh')) {
          refreshes.push(String(init?.body));
          return textResponse(await encryptForKey(JSON.stringify({ status: 'success', body: next }), identity.refresh_response_key!));
        }
        return server.fetch(input, init);
      }) as typeof fetch;
      sdk.init({ baseUrl: BASE_URL, fetch: fetchBoth });
      await sdk.setIdentityFromEmail('user@example.com', { serverPublicKey: server.serverPublicKey, subscriptionId: SUBSCRIPTION_ID });
      await vi.advanceTimersByTimeAsync(5000);
      expect(refreshes).toEqual([identity.refresh_token]);
      expect(await sdk.getAdvertisingTokenAsync()).toBe(next.advertising_token);
    } finally {
      vi.useRealTimers();
    }
  });
});
