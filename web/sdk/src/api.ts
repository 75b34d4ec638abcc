import { bytesToBase64 } from './base64';
import { CstgBox, decryptBase64Response } from './crypto';
import { Identity, isValidIdentity } from './identity';
import { ProductDetails, UID2_PRODUCT } from './product';

/** UID2's default operator (EUID: `https://prod.euid.eu`, see `EUID_PRODUCT`). */
export const DEFAULT_BASE_URL = UID2_PRODUCT.defaultBaseUrl;

/** Error carrying the operator's protocol status (`client_error`, `invalid_http_origin`, ...) and message. */
export class Uid2ApiError extends Error {
  constructor(
    message: string,
    /** Protocol status string from the response, if any. */
    readonly status?: string,
    /** HTTP status code, if a response was received. */
    readonly httpStatus?: number,
  ) {
    super(message);
    this.name = 'Uid2ApiError';
  }
}

export type RefreshResult =
  | { status: 'success'; identity: Identity }
  | { status: 'optout' }
  | { status: 'expired_token' };

export type CstgResult = { status: 'success'; identity: Identity } | { status: 'optout' };

export type CstgRequest = { email_hash: string } | { phone_hash: string };

export interface CstgOptions {
  /** Server public key, `UID2-X-<env>-<base64 SPKI>`. */
  serverPublicKey: string;
  /** Subscription id issued with the key pair. */
  subscriptionId: string;
}

type Json = Record<string, unknown>;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function asObject(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null ? (value as Json) : undefined;
}

/** Builds an error from a (non-success) protocol response; message = the operator's `message` when present. */
function protocolError(body: unknown, httpStatus: number, fallback: string): Uid2ApiError {
  const obj = asObject(body);
  const status = typeof obj?.status === 'string' ? obj.status : undefined;
  const message = typeof obj?.message === 'string' ? obj.message : undefined;
  return new Uid2ApiError(message ?? (status ? `API returned status ${status}` : fallback), status, httpStatus);
}

function isPlainJson(text: string): boolean {
  return text.trimStart().startsWith('{');
}

export class ApiClient {
  private baseUrl: string;

  constructor(
    baseUrl: string | undefined,
    private readonly fetchImpl?: typeof fetch,
    private readonly product: ProductDetails = UID2_PRODUCT,
  ) {
    this.baseUrl = ApiClient.normalizeBaseUrl(baseUrl, product);
  }

  static normalizeBaseUrl(baseUrl: string | undefined, product: ProductDetails = UID2_PRODUCT): string {
    return (baseUrl ?? product.defaultBaseUrl).replace(/\/+$/, '');
  }

  setBaseUrl(baseUrl: string | undefined): void {
    this.baseUrl = ApiClient.normalizeBaseUrl(baseUrl, this.product);
  }

  private doFetch(path: string, body: string, signal?: AbortSignal): Promise<Response> {
    const f = this.fetchImpl ?? globalThis.fetch;
    // text/plain keeps the request CORS-"simple" (no preflight), like the reference SDK's XHR.
    return f.call(globalThis, `${this.baseUrl}${path}?client=${encodeURIComponent(this.product.clientId)}`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
      body,
      signal,
      credentials: 'omit',
    });
  }

  /**
   * POST /v2/token/refresh with the refresh token as body. A 200 response is decrypted with the identity's
   * refresh_response_key (base64 IV || ciphertext || tag); without a key, or for any other HTTP status, the body is
   * plain JSON. Resolves for `success`, `optout` and `expired_token`; rejects for anything else.
   */
  async refresh(identity: Identity, signal?: AbortSignal): Promise<RefreshResult> {
    const response = await this.doFetch('/v2/token/refresh', identity.refresh_token, signal);
    const text = await response.text();
    let body: unknown;
    if (response.status === 200 && identity.refresh_response_key && !isPlainJson(text)) {
      try {
        body = parseJson(await decryptBase64Response(text, identity.refresh_response_key));
      } catch (e) {
        throw new Uid2ApiError(`Could not decrypt the refresh response: ${String(e)}`, undefined, 200);
      }
    } else {
      body = parseJson(text);
    }
    const obj = asObject(body);
    if (obj?.status === 'success' && isValidIdentity(obj.body)) return { status: 'success', identity: obj.body };
    if (obj?.status === 'optout') return { status: 'optout' };
    if (obj?.status === 'expired_token') return { status: 'expired_token' };
    throw protocolError(body, response.status, `Refresh failed with HTTP ${response.status}`);
  }

  /** POST /v2/token/client-generate (protocol §7). */
  async clientGenerate(request: CstgRequest, opts: CstgOptions, signal?: AbortSignal): Promise<CstgResult> {
    const box = await CstgBox.create(opts.serverPublicKey);
    const encoder = new TextEncoder();
    const timestamp = Date.now();
    const { iv, ciphertext } = await box.encrypt(
      encoder.encode(JSON.stringify(request)),
      encoder.encode(JSON.stringify([timestamp])),
    );
    const payload = {
      payload: bytesToBase64(ciphertext),
      iv: bytesToBase64(iv),
      public_key: box.clientPublicKeyBase64,
      timestamp,
      subscription_id: opts.subscriptionId,
    };
    const response = await this.doFetch('/v2/token/client-generate', JSON.stringify(payload), signal);
    const text = await response.text();
    if (response.status !== 200) {
      throw protocolError(parseJson(text), response.status, `Client-side token generation failed with HTTP ${response.status}`);
    }
    let decrypted: string;
    try {
      decrypted = await box.decryptResponse(text);
    } catch (e) {
      throw new Uid2ApiError(`Could not decrypt the client-generate response: ${String(e)}`, undefined, 200);
    }
    const obj = asObject(parseJson(decrypted));
    if (obj?.status === 'success' && isValidIdentity(obj.body)) return { status: 'success', identity: obj.body };
    if (obj?.status === 'optout') return { status: 'optout' };
    throw protocolError(obj, 200, `Unexpected client-generate response: ${decrypted}`);
  }
}
