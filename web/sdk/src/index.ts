export { Uid2Sdk, EventType, IdentityStatus } from './sdk';
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

import { Uid2Sdk } from './sdk';

/** Creates an SDK instance (equivalent to `new Uid2Sdk()`). */
export function createUid2Sdk(): Uid2Sdk {
  return new Uid2Sdk();
}
