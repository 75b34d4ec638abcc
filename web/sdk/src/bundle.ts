/**
 * Entry point of the self-contained script bundle (dist/uid2-sdk.js). It installs the SDK as `window.__uid2`,
 * keeping handlers queued before the script loaded:
 *
 *   window.__uid2 = window.__uid2 || { callbacks: [] };
 *   window.__uid2.callbacks.push((event, payload) => { if (event === 'SdkLoaded') __uid2.init({ baseUrl }); });
 */
import { installGlobal } from './install';
import { Uid2Sdk } from './sdk';

installGlobal({ instance: '__uid2', constructorName: 'UID2', helper: '__uid2Helper' }, Uid2Sdk, () => new Uid2Sdk());
