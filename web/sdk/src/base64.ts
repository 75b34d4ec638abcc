/** Standard (RFC 4648, padded) base64 helpers that work in browsers and Node 20. */

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode.apply(null, Array.from(bytes.subarray(i, i + chunk)));
  }
  return btoa(binary);
}

/** Decodes standard base64; throws on malformed input. */
export function base64ToBytes(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.trim());
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** True for a 44-character standard base64 string that decodes to exactly 32 bytes (a SHA-256). */
export function isBase64Hash(value: unknown): value is string {
  if (typeof value !== 'string' || value.length !== 44) return false;
  if (!/^[A-Za-z0-9+/]{43}=$/.test(value)) return false;
  try {
    return base64ToBytes(value).length === 32 && bytesToBase64(base64ToBytes(value)) === value;
  } catch {
    return false;
  }
}
