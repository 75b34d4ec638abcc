/**
 * Entry point of the EUID script bundle (dist/euid-sdk.js). It installs the EUID SDK as `window.__euid` (class
 * `window.EUID`, helper `window.__euidHelper`), as the reference's euid-sdk does, keeping handlers queued before the
 * script loaded:
 *
 *   window.__euid = window.__euid || { callbacks: [] };
 *   window.__euid.callbacks.push((event, payload) => { if (event === 'SdkLoaded') __euid.init({ baseUrl }); });
 */
import { installGlobal } from './install';
import { EuidSdk } from './sdk';

installGlobal({ instance: '__euid', constructorName: 'EUID', helper: '__euidHelper' }, EuidSdk, () => new EuidSdk());
