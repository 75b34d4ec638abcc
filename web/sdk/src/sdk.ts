import { ApiClient, CstgOptions, CstgRequest, Uid2ApiError } from './api';
import { isBase64Hash } from './base64';
import { isServerPublicKey } from './crypto';
import {
  coerceIdentity,
  Identity,
  isOptoutIdentity,
  isValidIdentity,
  LegacyIdentity,
  makeOptoutIdentity,
  OptoutIdentity,
  StoredIdentity,
} from './identity';
import { hashEmail, hashPhone } from './normalize';
import { EUID_PRODUCT, ProductDetails, UID2_PRODUCT } from './product';
import { IdentityStorage, StorageOptions } from './storage';
import { VERSION } from './version';

/** Events delivered to `callbacks` / `addEventListener` handlers. */
export const EventType = {
  /** The SDK script has loaded (replayed to handlers added later). */
  SdkLoaded: 'SdkLoaded',
  /** `init()` has finished (replayed to handlers added later). */
  InitCompleted: 'InitCompleted',
  /** The identity changed: refreshed, set, opted out, expired or cleared. */
  IdentityUpdated: 'IdentityUpdated',
  /** The operator reported that the user opted out (or an opt-out marker was loaded/set). */
  OptoutReceived: 'OptoutReceived',
  /** There is no usable identity any more (none stored, expired, cleared, disconnected): a login is required. */
  NoIdentityAvailable: 'NoIdentityAvailable',
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

export interface EventPayload {
  /** Current usable identity (same as `getIdentity()`), or null. */
  identity: Identity | null;
}
export type EventHandler = (event: EventType, payload: EventPayload) => void;

/** Status codes passed to the `init({ callback })` function (same values as the reference SDK). */
export const IdentityStatus = {
  ESTABLISHED: 0,
  REFRESHED: 1,
  EXPIRED: 100,
  NO_IDENTITY: -1,
  INVALID: -2,
  REFRESH_EXPIRED: -3,
  OPTOUT: -4,
} as const;
export type IdentityStatus = (typeof IdentityStatus)[keyof typeof IdentityStatus];

export interface InitCallbackPayload {
  advertisingToken: string | undefined;
  /** Same as `advertisingToken` (snake_case alias of the reference SDK). */
  advertising_token: string | undefined;
  status: IdentityStatus;
  statusText: string;
}

export interface SdkOptions extends StorageOptions {
  /** Operator base URL, e.g. `https://operator.example.com` (default `https://prod.uidapi.com`; EUID `https://prod.euid.eu`). */
  baseUrl?: string;
  /** Identity from the publisher's server; replaces the stored one. Legacy (tokens-only) identities are accepted. */
  identity?: Identity | OptoutIdentity | LegacyIdentity;
  /** Period of the refresh timer in ms (default 5000, minimum 1000). */
  refreshRetryPeriod?: number;
  /** Refresh the identity of a visible page at least this often, in ms (default 5 minutes; 0 disables). */
  refreshIntervalMs?: number;
  /** Called with the identity status on init and on every identity change. */
  callback?: (payload: InitCallbackPayload) => void;
  /** Custom fetch implementation (defaults to the global `fetch`). */
  fetch?: typeof fetch;
}

function isVisible(): boolean {
  return typeof document === 'undefined' || document.visibilityState !== 'hidden';
}

function validateOptions(opts: unknown): asserts opts is SdkOptions {
  if (typeof opts !== 'object' || opts === null) throw new TypeError('opts must be an object');
  const o = opts as Record<string, unknown>;
  if (o.baseUrl !== undefined && typeof o.baseUrl !== 'string') throw new TypeError('opts.baseUrl must be a string');
  if (o.callback !== undefined && typeof o.callback !== 'function')
    throw new TypeError('opts.callback, if provided, must be a function');
  if (o.fetch !== undefined && typeof o.fetch !== 'function') throw new TypeError('opts.fetch must be a function');
  if (o.refreshRetryPeriod !== undefined) {
    if (typeof o.refreshRetryPeriod !== 'number' || Number.isNaN(o.refreshRetryPeriod))
      throw new TypeError('opts.refreshRetryPeriod must be a number');
    if (o.refreshRetryPeriod < 1000) throw new RangeError('opts.refreshRetryPeriod must be >= 1000');
  }
  if (o.refreshIntervalMs !== undefined) {
    if (typeof o.refreshIntervalMs !== 'number' || Number.isNaN(o.refreshIntervalMs))
      throw new TypeError('opts.refreshIntervalMs must be a number');
    if (o.refreshIntervalMs < 0) throw new RangeError('opts.refreshIntervalMs must be >= 0');
  }
  if (o.identity !== undefined && (typeof o.identity !== 'object' || o.identity === null))
    throw new TypeError('opts.identity, if provided, must be an object');
}

function validateCstgOptions(opts: unknown): asserts opts is CstgOptions {
  if (typeof opts !== 'object' || opts === null) throw new TypeError('opts must be an object');
  const o = opts as Record<string, unknown>;
  if (!isServerPublicKey(o.serverPublicKey))
    throw new TypeError('opts.serverPublicKey must be a string like UID2-X-<env>-<base64 SPKI>');
  if (typeof o.subscriptionId !== 'string' || o.subscriptionId.length === 0)
    throw new TypeError('opts.subscriptionId must be a non-empty string');
}

/**
 * The UID2 browser SDK: keeps the publisher's UID2 identity in localStorage / a cookie, refreshes it against the
 * operator and generates identities on the client side (CSTG).
 */
export class Uid2Sdk {
  static readonly VERSION = VERSION;
  static readonly EventType = EventType;
  static readonly IdentityStatus = IdentityStatus;
  static readonly DEFAULT_REFRESH_RETRY_PERIOD_MS = 5000;
  static readonly DEFAULT_REFRESH_INTERVAL_MS = 5 * 60 * 1000;

  /** Event handlers. `push` delivers `SdkLoaded` (and `InitCompleted` once init has run) to late handlers. */
  readonly callbacks: EventHandler[];

  private opts: SdkOptions = {};
  private storage: IdentityStorage | undefined;
  private api: ApiClient | undefined;
  private identity: StoredIdentity | null = null;
  private initComplete = false;
  private persisted = false;
  private identityObtainedAt = 0;
  private lastRefreshAttemptAt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private visibilityListener: (() => void) | undefined;
  private refreshPromise: Promise<void> | null = null;
  private refreshAbort: AbortController | null = null;
  private readonly pending = new Set<Promise<unknown>>();
  private disconnectGeneration = 0;
  private initWaiters: Array<() => void> = [];

  /** UID2 or EUID: storage names, default operator and client id (see `EuidSdk`). */
  readonly product: ProductDetails;

  constructor(callbacks: EventHandler[] = [], product: ProductDetails = UID2_PRODUCT) {
    this.product = product;
    this.callbacks = Array.isArray(callbacks) ? callbacks : [];
    Object.defineProperty(this.callbacks, 'push', {
      configurable: true,
      enumerable: false,
      writable: true,
      value: (...handlers: EventHandler[]) => {
        const length = Array.prototype.push.apply(this.callbacks, handlers);
        for (const handler of handlers) {
          // If the handler calls init() from SdkLoaded it already hears InitCompleted: no replay then.
          const initDone = this.initComplete;
          this.runHandler(handler, EventType.SdkLoaded, { identity: null });
          if (initDone) this.runHandler(handler, EventType.InitCompleted, { identity: this.getIdentity() });
        }
        return length;
      },
    });
    // Handlers registered before the SDK existed (e.g. window.__uid2 = { callbacks: [...] }) hear SdkLoaded now.
    for (const handler of this.callbacks.slice()) this.runHandler(handler, EventType.SdkLoaded, { identity: null });
  }

  // ------------------------------------------------------------------ public API

  /** Initializes the SDK: loads (or replaces) the identity, starts refreshing. Calling it again re-initializes. */
  init(opts: SdkOptions): void {
    validateOptions(opts);
    if (this.initComplete) {
      this.abortRefresh();
      this.stopTimer();
      this.opts = { ...this.opts, ...opts, identity: opts.identity };
    } else {
      this.opts = { ...opts };
    }
    this.storage = new IdentityStorage(this.opts, this.product);
    this.api = new ApiClient(this.opts.baseUrl, this.opts.fetch, this.product);

    const now = Date.now();
    let status: { status: IdentityStatus; text: string };
    if (opts.identity !== undefined) {
      const candidate = coerceIdentity(opts.identity, now);
      status = candidate
        ? this.adopt(candidate, now)
        : this.adopt(null, now, { status: IdentityStatus.INVALID, text: 'The identity passed to init is not valid' });
    } else {
      status = this.adopt(this.storage.load(now), now);
    }
    this.initComplete = true;
    this.identityObtainedAt = now;
    this.lastRefreshAttemptAt = 0;
    this.startTimer();
    if (this.shouldRefresh(now)) this.startRefresh();

    this.notifyInitCallback(status.status, status.text);
    this.emit(EventType.InitCompleted);
    if (this.hasOptedOut()) this.emit(EventType.OptoutReceived);
    else if (!this.isIdentityAvailable()) this.emit(EventType.NoIdentityAvailable);
    this.releaseInitWaiters();
  }

  /** The current advertising token, or undefined (no identity, token expired, refresh pending, or opted out). */
  getAdvertisingToken(): string | undefined {
    return this.getIdentity()?.advertising_token;
  }

  /**
   * Resolves with the advertising token once init has run and any refresh or client-side generation in progress has
   * finished; undefined if no token is available then.
   */
  async getAdvertisingTokenAsync(): Promise<string | undefined> {
    if (!this.initComplete) await new Promise<void>((resolve) => this.initWaiters.push(resolve));
    for (let i = 0; i < 10 && (this.refreshPromise || this.pending.size > 0); i++) {
      const waits: Promise<unknown>[] = [...this.pending];
      if (this.refreshPromise) waits.push(this.refreshPromise);
      await Promise.all(waits.map((p) => p.catch(() => undefined)));
    }
    return this.getAdvertisingToken();
  }

  /** The current identity if its advertising token is usable now, else null. */
  getIdentity(): Identity | null {
    const now = Date.now();
    const identity = this.current(now);
    return isValidIdentity(identity) && identity.identity_expires > now && identity.refresh_expires > now
      ? identity
      : null;
  }

  /**
   * True if an identity exists that can still be used or refreshed (refresh_expires in the future), or a refresh /
   * client-side generation is in progress. False when opted out.
   */
  isIdentityAvailable(): boolean {
    const now = Date.now();
    const identity = this.current(now);
    return (
      (isValidIdentity(identity) && identity.refresh_expires > now) ||
      this.refreshPromise !== null ||
      this.pending.size > 0
    );
  }

  /** True if the user must log in again: no usable/refreshable identity and not opted out. */
  isLoginRequired(): boolean {
    return !this.isIdentityAvailable() && !this.hasOptedOut();
  }

  /** True if the stored state is an (unexpired) opt-out marker. */
  hasOptedOut(): boolean {
    const now = Date.now();
    const identity = this.current(now);
    return isOptoutIdentity(identity) && identity.refresh_expires > now;
  }

  /** Replaces the identity (e.g. one generated by the publisher's server). Requires init. */
  setIdentity(identity: Identity | OptoutIdentity | LegacyIdentity): void {
    this.requireInit('setIdentity');
    const now = Date.now();
    const candidate = coerceIdentity(identity, now);
    if (!candidate) throw new TypeError('The identity is not valid');
    this.abortRefresh();
    this.applyIdentity(candidate, IdentityStatus.ESTABLISHED, 'Identity established');
  }

  /** Clears the identity from memory, localStorage and the cookie, stops refreshing and fires events. */
  disconnect(): void {
    this.disconnectGeneration++;
    this.abortRefresh();
    this.stopTimer();
    (this.storage ?? new IdentityStorage({}, this.product)).clear();
    this.identity = null;
    this.persisted = false;
    this.emit(EventType.IdentityUpdated);
    this.emit(EventType.NoIdentityAvailable);
    this.releaseInitWaiters();
  }

  /** Subscribes to events; returns a function that unsubscribes. */
  addEventListener(handler: EventHandler): () => void {
    if (typeof handler !== 'function') throw new TypeError('handler must be a function');
    this.callbacks.push(handler);
    return () => this.removeEventListener(handler);
  }

  removeEventListener(handler: EventHandler): void {
    const index = this.callbacks.indexOf(handler);
    if (index >= 0) this.callbacks.splice(index, 1);
  }

  /** Client-side token generation from an email (normalized and hashed locally; only the hash is sent). */
  async setIdentityFromEmail(email: string, opts: CstgOptions): Promise<void> {
    this.requireInit('setIdentityFromEmail');
    validateCstgOptions(opts);
    await this.clientGenerate(hashEmail(email).then((hash) => ({ email_hash: hash })), opts);
  }

  /** Client-side token generation from a base64 SHA-256 of a normalized email. */
  async setIdentityFromEmailHash(emailHash: string, opts: CstgOptions): Promise<void> {
    this.requireInit('setIdentityFromEmailHash');
    validateCstgOptions(opts);
    if (!isBase64Hash(emailHash)) throw new Error('Invalid hash: expected the base64 SHA-256 (44 characters)');
    await this.clientGenerate(Promise.resolve({ email_hash: emailHash }), opts);
  }

  /** Client-side token generation from an E.164 phone number (`+` and 10-15 digits). */
  async setIdentityFromPhone(phone: string, opts: CstgOptions): Promise<void> {
    this.requireInit('setIdentityFromPhone');
    validateCstgOptions(opts);
    await this.clientGenerate(hashPhone(phone).then((hash) => ({ phone_hash: hash })), opts);
  }

  /** Client-side token generation from a base64 SHA-256 of an E.164 phone number. */
  async setIdentityFromPhoneHash(phoneHash: string, opts: CstgOptions): Promise<void> {
    this.requireInit('setIdentityFromPhoneHash');
    validateCstgOptions(opts);
    if (!isBase64Hash(phoneHash)) throw new Error('Invalid hash: expected the base64 SHA-256 (44 characters)');
    await this.clientGenerate(Promise.resolve({ phone_hash: phoneHash }), opts);
  }

  isInitComplete(): boolean {
    return this.initComplete;
  }

  // ------------------------------------------------------------------ state

  /** In-memory state after init; before init whatever the default stores hold (read-only). */
  private current(now: number): StoredIdentity | null {
    if (this.initComplete) return this.identity;
    return new IdentityStorage({}, this.product).load(now);
  }

  /** Sets the identity at init time (no events), persisting it to the configured store. */
  private adopt(
    candidate: StoredIdentity | null,
    now: number,
    override?: { status: IdentityStatus; text: string },
  ): { status: IdentityStatus; text: string } {
    const storage = this.storage!;
    if (candidate && candidate.refresh_expires > now) {
      this.identity = candidate;
      this.persisted = storage.save(candidate);
      if (isOptoutIdentity(candidate)) return { status: IdentityStatus.OPTOUT, text: 'User has opted out' };
      if (candidate.identity_expires <= now)
        return { status: IdentityStatus.EXPIRED, text: 'Identity expired, refresh still valid' };
      return { status: IdentityStatus.ESTABLISHED, text: 'Identity established' };
    }
    this.identity = null;
    this.persisted = false;
    storage.clear();
    if (override) return override;
    if (candidate && !isOptoutIdentity(candidate))
      return { status: IdentityStatus.REFRESH_EXPIRED, text: 'Identity expired, refresh expired' };
    return { status: IdentityStatus.NO_IDENTITY, text: 'Identity not available' };
  }

  /** Applies a new identity after init (setIdentity, refresh, CSTG) and fires the events. */
  private applyIdentity(candidate: StoredIdentity, status: IdentityStatus, text: string): void {
    const now = Date.now();
    if (isOptoutIdentity(candidate)) {
      this.applyOptout(candidate);
      return;
    }
    if (candidate.refresh_expires <= now) {
      this.clearIdentity(IdentityStatus.REFRESH_EXPIRED, 'Identity expired, refresh expired');
      return;
    }
    this.identity = candidate;
    this.identityObtainedAt = now;
    this.persisted = this.storage!.save(candidate);
    this.startTimer();
    if (candidate.identity_expires <= now && status !== IdentityStatus.REFRESHED) {
      status = IdentityStatus.EXPIRED;
      text = 'Identity expired, refresh still valid';
    }
    this.notifyInitCallback(status, text);
    this.emit(EventType.IdentityUpdated);
    if (this.shouldRefresh(now)) this.startRefresh();
  }

  private applyOptout(marker: OptoutIdentity = makeOptoutIdentity(Date.now())): void {
    this.abortRefresh();
    this.stopTimer();
    if (marker.refresh_expires <= Date.now()) {
      this.clearIdentity(IdentityStatus.NO_IDENTITY, 'Identity not available');
      return;
    }
    this.identity = marker;
    this.persisted = this.storage!.save(marker);
    this.notifyInitCallback(IdentityStatus.OPTOUT, 'User opted out');
    this.emit(EventType.OptoutReceived);
    this.emit(EventType.IdentityUpdated);
  }

  private clearIdentity(status: IdentityStatus, text: string, clearStorage = true): void {
    this.abortRefresh();
    this.stopTimer();
    this.identity = null;
    if (clearStorage) this.storage?.clear();
    this.persisted = false;
    this.notifyInitCallback(status, text);
    this.emit(EventType.IdentityUpdated);
    this.emit(EventType.NoIdentityAvailable);
  }

  // ------------------------------------------------------------------ refresh

  private get retryPeriod(): number {
    return this.opts.refreshRetryPeriod ?? Uid2Sdk.DEFAULT_REFRESH_RETRY_PERIOD_MS;
  }

  private get refreshInterval(): number {
    return this.opts.refreshIntervalMs ?? Uid2Sdk.DEFAULT_REFRESH_INTERVAL_MS;
  }

  private shouldRefresh(now: number): boolean {
    const identity = this.identity;
    if (!isValidIdentity(identity) || this.refreshPromise || identity.refresh_expires <= now) return false;
    if (now > identity.refresh_from) return true;
    const interval = this.refreshInterval;
    return (
      interval > 0 && isVisible() && now - Math.max(this.identityObtainedAt, this.lastRefreshAttemptAt) >= interval
    );
  }

  private startTimer(): void {
    if (!isValidIdentity(this.identity)) return;
    if (this.timer === undefined) this.timer = setTimeout(this.onTimer, this.retryPeriod);
    if (!this.visibilityListener && typeof document !== 'undefined') {
      this.visibilityListener = () => {
        if (isVisible()) this.check();
      };
      document.addEventListener('visibilitychange', this.visibilityListener);
    }
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.visibilityListener && typeof document !== 'undefined')
      document.removeEventListener('visibilitychange', this.visibilityListener);
    this.visibilityListener = undefined;
  }

  private readonly onTimer = () => {
    this.timer = undefined;
    this.check();
    if (isValidIdentity(this.identity)) this.startTimer();
  };

  /** One timer tick: picks up changes made by other pages, expires the identity, starts a refresh when due. */
  private check(): void {
    const now = Date.now();
    this.syncFromStorage(now);
    const identity = this.identity;
    if (isOptoutIdentity(identity) && identity.refresh_expires <= now) {
      this.clearIdentity(IdentityStatus.NO_IDENTITY, 'Identity not available');
      return;
    }
    if (!isValidIdentity(identity)) return;
    if (identity.refresh_expires <= now) {
      this.clearIdentity(IdentityStatus.REFRESH_EXPIRED, 'Identity expired, refresh expired');
      return;
    }
    if (this.shouldRefresh(now)) this.startRefresh();
  }

  /** Another tab may have refreshed, opted out or logged out since we last wrote the store. */
  private syncFromStorage(now: number): void {
    if (!this.persisted || !this.storage || this.refreshPromise) return;
    const stored = this.storage.load(now);
    const ours = this.identity;
    if (stored === null) {
      if (ours !== null) this.clearIdentity(IdentityStatus.NO_IDENTITY, 'Identity removed from storage', false);
      return;
    }
    if (ours !== null && JSON.stringify(stored) === JSON.stringify(ours)) return;
    if (isOptoutIdentity(stored)) {
      if (!isOptoutIdentity(ours)) this.applyOptout(stored);
      return;
    }
    if (ours === null || isOptoutIdentity(ours) || stored.identity_expires >= ours.identity_expires)
      this.applyIdentity(stored, IdentityStatus.REFRESHED, 'Identity refreshed');
  }

  private startRefresh(): void {
    const identity = this.identity;
    const api = this.api;
    if (!isValidIdentity(identity) || !api || this.refreshPromise) return;
    const abort = typeof AbortController === 'undefined' ? null : new AbortController();
    this.refreshAbort = abort;
    this.lastRefreshAttemptAt = Date.now();
    const run = async () => {
      try {
        const result = await api.refresh(identity, abort?.signal);
        // Superseded (setIdentity, disconnect, re-init) while the request was in flight: drop the result.
        if (abort?.signal.aborted || this.refreshPromise !== promise) return;
        this.refreshPromise = null;
        switch (result.status) {
          case 'success':
            this.applyIdentity(result.identity, IdentityStatus.REFRESHED, 'Identity refreshed');
            break;
          case 'optout':
            this.applyOptout();
            break;
          case 'expired_token':
            this.clearIdentity(IdentityStatus.REFRESH_EXPIRED, 'Refresh token expired');
            break;
        }
      } catch (e) {
        if (abort?.signal.aborted || this.refreshPromise !== promise) return;
        this.refreshPromise = null;
        this.warn(`Refreshing the ${this.product.name} token failed; will retry`, e);
        if (Date.now() >= identity.refresh_expires && this.identity === identity)
          this.clearIdentity(IdentityStatus.REFRESH_EXPIRED, 'Identity expired, refresh expired');
      } finally {
        if (this.refreshPromise === promise) this.refreshPromise = null;
        if (this.refreshAbort === abort) this.refreshAbort = null;
      }
    };
    // run() issues the request synchronously and only settles the state after its first await,
    // by which time `promise` is assigned.
    const promise: Promise<void> = run();
    this.refreshPromise = promise;
  }

  private abortRefresh(): void {
    const abort = this.refreshAbort;
    this.refreshAbort = null;
    this.refreshPromise = null;
    abort?.abort();
  }

  // ------------------------------------------------------------------ CSTG

  private clientGenerate(request: Promise<CstgRequest>, opts: CstgOptions): Promise<void> {
    const api = this.api!;
    const generation = this.disconnectGeneration;
    const run = async () => {
      const result = await api.clientGenerate(await request, opts);
      if (generation !== this.disconnectGeneration)
        throw new Uid2ApiError('The SDK was disconnected during client-side token generation');
      this.abortRefresh();
      if (result.status === 'success') this.applyIdentity(result.identity, IdentityStatus.ESTABLISHED, 'Identity established');
      else this.applyOptout();
    };
    const promise = run();
    this.pending.add(promise);
    const untrack = () => this.pending.delete(promise);
    promise.then(untrack, untrack);
    return promise;
  }

  // ------------------------------------------------------------------ events

  private emit(event: EventType): void {
    const payload: EventPayload = { identity: this.getIdentity() };
    for (const handler of this.callbacks.slice()) this.runHandler(handler, event, payload);
  }

  private runHandler(handler: EventHandler, event: EventType, payload: EventPayload): void {
    if (typeof handler !== 'function') {
      this.warn('An SDK callback was supplied which is not a function');
      return;
    }
    try {
      handler(event, payload);
    } catch (e) {
      this.warn('SDK callback threw an exception', e);
    }
  }

  private notifyInitCallback(status: IdentityStatus, statusText: string): void {
    const callback = this.opts.callback;
    if (!callback) return;
    const token = this.getAdvertisingToken();
    try {
      callback({ advertisingToken: token, advertising_token: token, status, statusText });
    } catch (e) {
      this.warn('SDK init callback threw an exception', e);
    }
  }

  private releaseInitWaiters(): void {
    const waiters = this.initWaiters;
    this.initWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private requireInit(method: string): void {
    if (!this.initComplete) throw new Error(`Cannot call ${method} before calling init`);
  }

  private warn(message: string, detail?: unknown): void {
    if (typeof console !== 'undefined') console.warn(`[${this.product.name} SDK] ${message}`, detail ?? '');
  }
}

/**
 * The EUID browser SDK: the same SDK for an EUID operator, as the reference's EUID variant (uid2-web-integrations
 * src/euidSdk.ts): identity in localStorage `EUID-sdk-identity` or the cookie `__euid`, default operator
 * `https://prod.euid.eu`, client id `euid-sdk-<version>`. The script bundle `euid-sdk.js` installs it as `window.__euid`.
 */
export class EuidSdk extends Uid2Sdk {
  constructor(callbacks: EventHandler[] = []) {
    super(callbacks, EUID_PRODUCT);
  }
}
