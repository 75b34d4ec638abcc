/** Identity as returned by the operator's generate / refresh / client-generate endpoints. */
export interface Identity {
  advertising_token: string;
  refresh_token: string;
  /** Epoch ms after which the advertising token must no longer be used. */
  identity_expires: number;
  /** Epoch ms after which the SDK refreshes the identity. */
  refresh_from: number;
  /** Epoch ms after which the refresh token is no longer accepted (login required). */
  refresh_expires: number;
  /** Key of the next refresh response (v2). Without it the refresh response is read as plain JSON. */
  refresh_response_key?: string;
}

/** Marker stored when the user has opted out (protocol §8). */
export interface OptoutIdentity {
  refresh_expires: number;
  identity_expires: number;
  status: 'optout';
}

export type StoredIdentity = Identity | OptoutIdentity;

/** An identity that carries only the two tokens (old SDK versions / server-side cookies). */
export interface LegacyIdentity {
  advertising_token: string;
  refresh_token: string;
  [key: string]: unknown;
}

export const OPTOUT_MARKER_LIFETIME_MS = 72 * 3600 * 1000;
export const LEGACY_REFRESH_EXPIRES_MS = 7 * 86400 * 1000;
export const LEGACY_IDENTITY_EXPIRES_MS = 4 * 3600 * 1000;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** All five identity fields present (tokens non-empty strings, times numbers). */
export function isValidIdentity(value: unknown): value is Identity {
  return (
    isObject(value) &&
    value.status !== 'optout' &&
    isNonEmptyString(value.advertising_token) &&
    isNonEmptyString(value.refresh_token) &&
    isTime(value.identity_expires) &&
    isTime(value.refresh_from) &&
    isTime(value.refresh_expires) &&
    (value.refresh_response_key === undefined || typeof value.refresh_response_key === 'string')
  );
}

export function isOptoutIdentity(value: unknown): value is OptoutIdentity {
  return isObject(value) && value.status === 'optout';
}

/** Tokens present but at least one of the three times missing. */
export function isLegacyIdentity(value: unknown): value is LegacyIdentity {
  return (
    isObject(value) &&
    value.status !== 'optout' &&
    isNonEmptyString(value.advertising_token) &&
    isNonEmptyString(value.refresh_token) &&
    !isValidIdentity(value)
  );
}

/** Fills the missing times of a legacy identity: refresh now, refresh token valid 7 days, token 4 hours. */
export function upgradeLegacyIdentity(legacy: LegacyIdentity, now: number): Identity {
  const pick = (key: string, fallback: number) => (isTime(legacy[key]) ? (legacy[key] as number) : fallback);
  const identity: Identity = {
    advertising_token: legacy.advertising_token,
    refresh_token: legacy.refresh_token,
    identity_expires: pick('identity_expires', now + LEGACY_IDENTITY_EXPIRES_MS),
    refresh_from: pick('refresh_from', now),
    refresh_expires: pick('refresh_expires', now + LEGACY_REFRESH_EXPIRES_MS),
  };
  if (typeof legacy.refresh_response_key === 'string') identity.refresh_response_key = legacy.refresh_response_key;
  return identity;
}

export function makeOptoutIdentity(now: number): OptoutIdentity {
  return {
    refresh_expires: now + OPTOUT_MARKER_LIFETIME_MS,
    identity_expires: now + OPTOUT_MARKER_LIFETIME_MS,
    status: 'optout',
  };
}

/**
 * Turns anything read from storage or passed in by the page into a stored identity:
 * valid identities and opt-out markers as they are, legacy identities upgraded, everything else null.
 */
export function coerceIdentity(value: unknown, now: number): StoredIdentity | null {
  if (isOptoutIdentity(value)) {
    return isTime(value.refresh_expires) && isTime(value.identity_expires)
      ? { refresh_expires: value.refresh_expires, identity_expires: value.identity_expires, status: 'optout' }
      : null;
  }
  if (isValidIdentity(value)) return value;
  if (isLegacyIdentity(value)) return upgradeLegacyIdentity(value, now);
  return null;
}
