export { Uid2Sdk, EuidSdk, EventType, IdentityStatus } from './sdk';
export type { EventHandler, EventPayload, InitCallbackPayload, SdkOptions } from './sdk';
export { Uid2ApiError, DEFAULT_BASE_URL } from './api';
export type { CstgOptions, RefreshResult, CstgResult } from './api';
export type { Identity, OptoutIdentity, LegacyIdentity, StoredIdentity } from './identity';
export { isValidIdentity, isOptoutIdentity } from './identity';
export { IdentityStorage, LOCAL_STORAGE_KEY, COOKIE_NAME } from './storage';
export type { StorageOptions } from './storage';
export { normalizeEmail, isNormalizedPhone, hashAndEncodeIdentifier } from './normalize';
export { isBase64Hash } from './base64';
export { VERSION } from './version';
export { UID2_PRODUCT, EUID_PRODUCT } from './product';
export type { ProductDetails } from './product';

import { EuidSdk, Uid2Sdk } from './sdk';

/** Creates an SDK instance (equivalent to `new Uid2Sdk()`). */
export function createUid2Sdk(): Uid2Sdk {
  return new Uid2Sdk();
}

/** Creates an EUID SDK instance (equivalent to `new EuidSdk()`). */
export function createEuidSdk(): EuidSdk {
  return new EuidSdk();
}
