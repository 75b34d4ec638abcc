import { coerceIdentity, StoredIdentity } from './identity';
import { ProductDetails, UID2_PRODUCT } from './product';

/** UID2's localStorage key (EUID: `EUID-sdk-identity`, see `EUID_PRODUCT`). */
export const LOCAL_STORAGE_KEY = UID2_PRODUCT.localStorageKey;
/** UID2's cookie name (EUID: `__euid`, see `EUID_PRODUCT`). */
export const COOKIE_NAME = UID2_PRODUCT.cookieName;

export interface StorageOptions {
  /** Store the identity in the cookie (`__uid_2`; EUID: `__euid`) instead of localStorage. */
  useCookie?: boolean;
  /** Cookie `domain` attribute (default: host-only cookie). */
  cookieDomain?: string;
  /** Cookie `path` attribute (default `/`). */
  cookiePath?: string;
}

function getLocalStorage(): Storage | undefined {
  try {
    return typeof localStorage === 'undefined' ? undefined : localStorage;
  } catch {
    return undefined; // e.g. access denied in sandboxed frames
  }
}

function hasDocument(): boolean {
  return typeof document !== 'undefined';
}

/** Raw (decoded) value of a cookie, or undefined. */
export function readCookie(name: string): string | undefined {
  if (!hasDocument()) return undefined;
  const all = document.cookie;
  if (!all) return undefined;
  for (const part of all.split(';')) {
    const entry = part.trim();
    if (entry.startsWith(name + '=')) {
      const raw = entry.substring(name.length + 1);
      try {
        return decodeURIComponent(raw);
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

function parse(text: string | null | undefined, now: number): StoredIdentity | null {
  if (!text) return null;
  try {
    return coerceIdentity(JSON.parse(text), now);
  } catch {
    return null;
  }
}

/**
 * Persists the identity as the reference SDK does: JSON in localStorage `UID2-sdk-identity` (default) or the
 * URL-encoded JSON cookie `__uid_2` (`path=/`, `expires` = `refresh_expires`); for EUID `EUID-sdk-identity` and `__euid`. Writing to one store removes the value
 * from the other so a stale copy can never win over the current one.
 */
export class IdentityStorage {
  private readonly opts: StorageOptions;
  private readonly localStorageKey: string;
  private readonly cookieName: string;

  constructor(opts: StorageOptions = {}, product: ProductDetails = UID2_PRODUCT) {
    this.opts = { ...opts };
    this.localStorageKey = product.localStorageKey;
    this.cookieName = product.cookieName;
  }

  get useCookie(): boolean {
    return this.opts.useCookie === true;
  }

  loadFromLocalStorage(now = Date.now()): StoredIdentity | null {
    const storage = getLocalStorage();
    if (!storage) return null;
    try {
      return parse(storage.getItem(this.localStorageKey), now);
    } catch {
      return null;
    }
  }

  loadFromCookie(now = Date.now()): StoredIdentity | null {
    return parse(readCookie(this.cookieName), now);
  }

  /** Loads from both stores; when both hold an identity the one with the later `identity_expires` wins. */
  load(now = Date.now()): StoredIdentity | null {
    const fromCookie = this.loadFromCookie(now);
    const fromLocal = this.loadFromLocalStorage(now);
    if (fromCookie && fromLocal) {
      return fromCookie.identity_expires > fromLocal.identity_expires ? fromCookie : fromLocal;
    }
    return fromCookie ?? fromLocal;
  }

  /** Writes the identity to the configured store; returns false if the store is unavailable. */
  save(identity: StoredIdentity): boolean {
    const value = JSON.stringify(identity);
    if (this.useCookie) {
      if (!hasDocument()) return false;
      document.cookie = this.cookieString(encodeURIComponent(value), new Date(identity.refresh_expires));
      this.removeLocalStorage();
      return true;
    }
    const storage = getLocalStorage();
    if (!storage) return false;
    try {
      storage.setItem(this.localStorageKey, value);
    } catch {
      return false;
    }
    this.removeCookie();
    return true;
  }

  /** Removes the identity from both stores. */
  clear(): void {
    this.removeCookie();
    this.removeLocalStorage();
  }

  private removeLocalStorage(): void {
    try {
      getLocalStorage()?.removeItem(this.localStorageKey);
    } catch {
      // ignore
    }
  }

  private removeCookie(): void {
    if (!hasDocument() || readCookie(this.cookieName) === undefined) return;
    const past = new Date(0);
    document.cookie = this.cookieString('', past);
    // A cookie written by the server or another configuration may be host-only / on the default path.
    if (this.opts.cookieDomain !== undefined) document.cookie = `${this.cookieName}=; path=${this.path}; expires=${past.toUTCString()}`;
    if (this.path !== '/') document.cookie = `${this.cookieName}=; path=/; expires=${past.toUTCString()}`;
  }

  private get path(): string {
    return this.opts.cookiePath ?? '/';
  }

  private cookieString(value: string, expires: Date): string {
    let cookie = `${this.cookieName}=${value}; path=${this.path}; expires=${expires.toUTCString()}`;
    if (this.opts.cookieDomain !== undefined) cookie += `; domain=${this.opts.cookieDomain}`;
    return cookie;
  }
}
