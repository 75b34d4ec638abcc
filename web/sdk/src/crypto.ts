import { base64ToBytes, bytesToBase64 } from './base64';

const IV_LENGTH = 12;
const TAG_BITS = 128;
const CURVE = 'P-256';

function subtle(): SubtleCrypto {
  const c = globalThis.crypto;
  if (!c || !c.subtle) throw new Error('WebCrypto (crypto.subtle) is not available; a secure context (https) is required');
  return c.subtle;
}

export function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  return globalThis.crypto.getRandomValues(new Uint8Array(length));
}

export function importAesKey(raw: Uint8Array<ArrayBuffer> | ArrayBuffer): Promise<CryptoKey> {
  return subtle().importKey('raw', raw, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
}

/** Decrypts `IV(12) || ciphertext || tag(16)` with AES-256-GCM and returns the UTF-8 text. */
export async function decryptGcmMessage(
  message: Uint8Array<ArrayBuffer>,
  key: CryptoKey,
  additionalData?: Uint8Array<ArrayBuffer>,
): Promise<string> {
  if (message.length < IV_LENGTH + TAG_BITS / 8) throw new Error('Encrypted response is too short');
  const params: AesGcmParams = { name: 'AES-GCM', iv: message.slice(0, IV_LENGTH), tagLength: TAG_BITS };
  if (additionalData) params.additionalData = additionalData;
  const plain = await subtle().decrypt(params, key, message.slice(IV_LENGTH));
  return new TextDecoder().decode(plain);
}

/** Decrypts a base64 `IV || ciphertext || tag` response body with a base64 AES-256 key (refresh_response_key). */
export async function decryptBase64Response(body: string, base64Key: string): Promise<string> {
  const key = await importAesKey(base64ToBytes(base64Key));
  return decryptGcmMessage(base64ToBytes(body), key);
}

/** AES-256-GCM encryption; returns ciphertext || tag. */
export async function encryptGcm(
  plaintext: Uint8Array<ArrayBuffer>,
  key: CryptoKey,
  iv: Uint8Array<ArrayBuffer>,
  additionalData?: Uint8Array<ArrayBuffer>,
): Promise<Uint8Array<ArrayBuffer>> {
  const params: AesGcmParams = { name: 'AES-GCM', iv, tagLength: TAG_BITS };
  if (additionalData) params.additionalData = additionalData;
  return new Uint8Array(await subtle().encrypt(params, key, plaintext));
}

/** Number of characters of the `UID2-X-<env>-` prefix of a CSTG server public key. */
export const SERVER_PUBLIC_KEY_PREFIX_LENGTH = 9;
const SERVER_PUBLIC_KEY_PATTERN = /^(UID2|EUID)-X-[A-Z]-./;

export function isServerPublicKey(value: unknown): value is string {
  return typeof value === 'string' && SERVER_PUBLIC_KEY_PATTERN.test(value);
}

/**
 * Ephemeral P-256 ECDH key pair plus the AES-256-GCM key derived from the server public key
 * (raw 32-byte shared secret, no KDF — protocol §7).
 */
export class CstgBox {
  private constructor(
    readonly clientPublicKeySpki: Uint8Array<ArrayBuffer>,
    private readonly sharedKey: CryptoKey,
  ) {}

  /** `serverPublicKey` is the full `UID2-X-L-<base64 SPKI>` string. */
  static async create(serverPublicKey: string): Promise<CstgBox> {
    const s = subtle();
    const spki = base64ToBytes(serverPublicKey.substring(SERVER_PUBLIC_KEY_PREFIX_LENGTH));
    const serverKey = await s.importKey('spki', spki, { name: 'ECDH', namedCurve: CURVE }, false, []);
    const pair = (await s.generateKey({ name: 'ECDH', namedCurve: CURVE }, false, ['deriveBits'])) as CryptoKeyPair;
    const secret = await s.deriveBits({ name: 'ECDH', public: serverKey }, pair.privateKey, 256);
    const sharedKey = await importAesKey(secret);
    const clientSpki = new Uint8Array(await s.exportKey('spki', pair.publicKey));
    return new CstgBox(clientSpki, sharedKey);
  }

  /** Encrypts with a fresh random 12-byte IV. */
  async encrypt(
    plaintext: Uint8Array<ArrayBuffer>,
    additionalData: Uint8Array<ArrayBuffer>,
  ): Promise<{ iv: Uint8Array<ArrayBuffer>; ciphertext: Uint8Array<ArrayBuffer> }> {
    const iv = randomBytes(IV_LENGTH);
    return { iv, ciphertext: await encryptGcm(plaintext, this.sharedKey, iv, additionalData) };
  }

  /** Decrypts a base64 `IV || ciphertext || tag` response body. */
  decryptResponse(body: string): Promise<string> {
    return decryptGcmMessage(base64ToBytes(body), this.sharedKey);
  }

  get clientPublicKeyBase64(): string {
    return bytesToBase64(this.clientPublicKeySpki);
  }
}
