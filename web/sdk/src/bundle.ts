/**
 * Entry point of the self-contained script bundle (dist/uid2-sdk.js). It installs the SDK as `window.__uid2`,
 * keeping handlers queued before the script loaded:
 *
 *   window.__uid2 = window.__uid2 || { callbacks: [] };
 *   window.__uid2.callbacks.push((event, payload) => { if (event === 'SdkLoaded') __uid2.init({ baseUrl }); });
 */
import { EventHandler, Uid2Sdk } from './sdk';
import { hashAndEncodeIdentifier, isNormalizedPhone, normalizeEmail } from './normalize';

interface Uid2Globals {
  __uid2?: Uid2Sdk | { callbacks?: EventHandler[] };
  __uid2Helper?: unknown;
  UID2?: unknown;
}

function install(): void {
  if (typeof window === 'undefined') return;
  const w = window as unknown as Uid2Globals;
  if (w.__uid2 instanceof Uid2Sdk || (w.__uid2 && 'init' in w.__uid2)) return; // already installed
  const queued = Array.isArray(w.__uid2?.callbacks) ? w.__uid2!.callbacks!.slice() : [];
  const sdk = new Uid2Sdk();
  w.__uid2 = sdk;
  w.UID2 = w.UID2 ?? Uid2Sdk;
  w.__uid2Helper = w.__uid2Helper ?? { normalizeEmail, isNormalizedPhone, hashAndEncodeIdentifier };
  // Queued handlers receive SdkLoaded now that window.__uid2 is the SDK (they typically call init from it).
  sdk.callbacks.push(...queued);
}

install();
