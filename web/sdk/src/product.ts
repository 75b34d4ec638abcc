import { VERSION } from './version';

/** Which identity product an SDK instance serves: where it stores the identity, its default operator and client id. */
export interface ProductDetails {
  /** `UID2` or `EUID` (used in messages). */
  readonly name: 'UID2' | 'EUID';
  /** Operator used when `init` is given no `baseUrl`. */
  readonly defaultBaseUrl: string;
  /** localStorage key of the identity. */
  readonly localStorageKey: string;
  /** Name of the first-party cookie holding the identity (`useCookie`). */
  readonly cookieName: string;
  /** Value of the `client` query parameter sent to the operator. */
  readonly clientId: string;
}

/** UID2, as the reference SDK (IABTechLab/uid2-web-integrations, src/uid2Sdk.ts) names it. */
export const UID2_PRODUCT: ProductDetails = Object.freeze({
  name: 'UID2',
  defaultBaseUrl: 'https://prod.uidapi.com',
  localStorageKey: 'UID2-sdk-identity',
  cookieName: '__uid_2',
  clientId: `uid2-sdk-${VERSION}`,
});

/** EUID, as the reference SDK (src/euidSdk.ts) names it: `window.__euid`, cookie `__euid`, https://prod.euid.eu. */
export const EUID_PRODUCT: ProductDetails = Object.freeze({
  name: 'EUID',
  defaultBaseUrl: 'https://prod.euid.eu',
  localStorageKey: 'EUID-sdk-identity',
  cookieName: '__euid',
  clientId: `euid-sdk-${VERSION}`,
});
