import { bytesToBase64 } from './base64';

const GMAIL = 'gmail.com';

function lowerAscii(text: string): string {
  return text.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

/**
 * Normalizes an email exactly like the operator (`InputUtil.normalizeEmailString`):
 * only ASCII A-Z are lower-cased; every space before the `@` is dropped; trailing spaces of the domain are dropped;
 * a second `@`, an empty local part or an empty domain make the address invalid; for the domain `gmail.com` only,
 * all dots are removed from the local part and `+` and everything after it are dropped.
 * Returns undefined for an invalid address.
 */
export function normalizeEmail(email: string): string | undefined {
  if (typeof email !== 'string' || email.length === 0) return undefined;
  const at = email.indexOf('@');
  if (at < 0) return undefined;
  const local = email.substring(0, at);
  const domain = lowerAscii(email.substring(at + 1).replace(/ +$/, ''));
  if (domain.length === 0 || domain.includes('@')) return undefined;

  const gmail = domain === GMAIL;
  let out = '';
  for (const c of local) {
    if (c === ' ') continue;
    if (gmail) {
      if (c === '+') break;
      if (c === '.') continue;
    }
    out += c;
  }
  if (out.length === 0) return undefined;
  return `${lowerAscii(out)}@${domain}`;
}

/** True for an E.164 phone number: `+` followed by 10 to 15 ASCII digits (the operator does not normalize phones). */
export function isNormalizedPhone(phone: string): boolean {
  return typeof phone === 'string' && /^\+[0-9]{10,15}$/.test(phone);
}

/** SHA-256 of the UTF-8 bytes, standard base64 (44 characters) — the `email_hash` / `phone_hash` value. */
export async function hashAndEncodeIdentifier(value: string): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(value));
  return bytesToBase64(new Uint8Array(digest));
}

/** Normalizes and hashes an email; rejects with an Error for an invalid address. */
export async function hashEmail(email: string): Promise<string> {
  const normalized = normalizeEmail(email);
  if (normalized === undefined) throw new Error('Invalid email address');
  return hashAndEncodeIdentifier(normalized);
}

/** Validates and hashes an E.164 phone number; rejects with an Error for an invalid number. */
export async function hashPhone(phone: string): Promise<string> {
  if (!isNormalizedPhone(phone)) throw new Error('Invalid phone number');
  return hashAndEncodeIdentifier(phone);
}
