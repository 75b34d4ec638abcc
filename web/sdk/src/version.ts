declare const __UID2_SDK_VERSION__: string | undefined;

/** SDK version; injected from package.json at build time (see build.mjs / vitest.config.ts). */
export const VERSION: string =
  typeof __UID2_SDK_VERSION__ === 'string' ? __UID2_SDK_VERSION__ : '0.0.0-dev';

/** Value of the `client` query parameter sent to the operator. */
export const CLIENT_ID = `uid2-sdk-${VERSION}`;
