import { EventHandler, Uid2Sdk } from './sdk';
import { hashAndEncodeIdentifier, isNormalizedPhone, normalizeEmail } from './normalize';

/** The globals a script bundle installs: `__uid2`, `UID2`, `__uid2Helper` (UID2) or `__euid`, `EUID`, `__euidHelper` (EUID). */
export interface GlobalNames {
  instance: string;
  constructorName: string;
  helper: string;
}

type Queued = { callbacks?: EventHandler[] };

/**
 * Installs an SDK instance as `window[names.instance]`, keeping handlers queued before the script loaded
 * (`window.__uid2 = window.__uid2 || { callbacks: [] }`); a second load keeps the first instance.
 */
export function installGlobal(names: GlobalNames, sdkClass: typeof Uid2Sdk, create: () => Uid2Sdk): void {
  if (typeof window === 'undefined') return;
  const w = window as unknown as Record<string, unknown>;
  const existing = w[names.instance] as Uid2Sdk | Queued | undefined;
  if (existing instanceof Uid2Sdk || (existing && typeof existing === 'object' && 'init' in existing)) return; // already installed
  const queued = Array.isArray((existing as Queued | undefined)?.callbacks) ? (existing as Queued).callbacks!.slice() : [];
  const sdk = create();
  w[names.instance] = sdk;
  w[names.constructorName] = w[names.constructorName] ?? sdkClass;
  w[names.helper] = w[names.helper] ?? { normalizeEmail, isNormalizedPhone, hashAndEncodeIdentifier };
  // Queued handlers receive SdkLoaded now that the global is the SDK (they typically call init from it).
  sdk.callbacks.push(...queued);
}
