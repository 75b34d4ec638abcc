// The publisher page. Session mode: the server holds and refreshes the identity; this page only shows /api/state.
// Cookie mode: the server writes the identity into the first-party cookie __uid_2 at login; the UID2 browser SDK
// (window.__uid2, loaded from /sdk/uid2-sdk.js) reads it, refreshes it against the operator and rewrites the cookie.
// Against an EUID operator (Sample:IdentityScope=EUID) the same with the EUID SDK: window.__euid, /sdk/euid-sdk.js, __euid.
(function () {
  'use strict';
  const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
  const STATUS_NAMES = { 0: 'established', 1: 'refreshed', 100: 'expired', '-1': 'no identity', '-2': 'invalid', '-3': 'refresh expired', '-4': 'optout' };
  let state = null;          // the server's view: { mode, email, status, identity (session mode), operatorUrl, product }
  let sdkStatus = null;      // cookie mode: last status the SDK reported
  let stateTimer = null;

  async function api(method, path, body) {
    const response = await fetch(path, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const json = text ? JSON.parse(text) : null;
    if (!response.ok) throw new Error((json && json.message) || `HTTP ${response.status}`);
    return json;
  }

  function time(ms) {
    if (!ms) return '—';
    const seconds = Math.round((ms - Date.now()) / 1000);
    return `${new Date(ms).toISOString()} (${seconds >= 0 ? 'in ' + seconds : -seconds + ' ago'} s)`;
  }

  function sdk() {
    const instance = state && window[state.product.sdkGlobal];
    return instance && typeof instance.init === 'function' ? instance : null;
  }

  /** The identity to show and its status, from the server (session mode) or the SDK (cookie mode). */
  function current() {
    if (state.mode === 'session') return { identity: state.identity, status: state.status };
    const uid2 = sdk();
    if (!uid2 || !uid2.isInitComplete()) return { identity: null, status: state.email ? 'loading the SDK…' : state.status };
    if (uid2.hasOptedOut() || (state.status === 'optout' && !uid2.getIdentity())) return { identity: null, status: 'optout' };
    const identity = uid2.getIdentity();
    return { identity, status: identity ? (sdkStatus ?? 'established') : (state.email ? sdkStatus ?? 'no identity' : 'logged out') };
  }

  function render() {
    const { identity, status } = current();
    $('operator-url').textContent = state.operatorUrl;
    document.querySelector(`input[name=mode][value=${state.mode}]`).checked = true;
    $('user').textContent = state.email ?? '— (logged out)';
    $('status').textContent = status;
    $('advertising-token').textContent = identity ? identity.advertising_token : '—';
    $('refresh-from').textContent = time(identity && identity.refresh_from);
    $('identity-expires').textContent = time(identity && identity.identity_expires);
    $('refresh-expires').textContent = time(identity && identity.refresh_expires);
    $('identity-json').textContent = identity ? JSON.stringify(identity, null, 2) : '—';
    for (const id of ['send-ssp', 'refresh']) $(id).disabled = !identity;
    $('optout').disabled = $('logout').disabled = !state.email;

    // Session mode, automatic refresh (5-2): ask the server again once refresh_from has passed; it refreshes then.
    clearTimeout(stateTimer);
    if (state.mode === 'session' && identity) {
      stateTimer = setTimeout(loadState, Math.min(Math.max(identity.refresh_from - Date.now() + 500, 1000), 2 ** 31 - 1));
    }
  }

  function message(text) { $('message').textContent = text || ''; }

  async function loadState() {
    state = await api('GET', '/api/state');
    render();
  }

  /** Cookie mode: makes the SDK refresh now, by handing it its own identity with refresh_from in the past. */
  function sdkRefreshNow() {
    const uid2 = sdk();
    const identity = uid2 && uid2.getIdentity();
    if (!identity) return false;
    uid2.setIdentity(Object.assign({}, identity, { refresh_from: Date.now() - 1 }));
    return true;
  }

  function clearBrowserStorage() {
    const uid2 = sdk();
    if (uid2 && uid2.isInitComplete()) uid2.disconnect();      // memory, localStorage and the __uid_2 (__euid) cookie
    try { localStorage.removeItem(state.product.localStorageKey); } catch (e) { /* storage disabled */ }
    document.cookie = `${state.product.cookie}=; Max-Age=0; path=/`;
  }

  async function action(fn) {
    message('');
    try { await fn(); } catch (e) { message(e.message); }
  }

  $('login').form.addEventListener('submit', (e) => {
    e.preventDefault();
    action(async () => {
      clearBrowserStorage();
      await api('POST', '/api/login', { email: $('email').value });
      location.reload();     // cookie mode: the SDK picks the new identity up from __uid_2
    });
  });

  $('refresh').addEventListener('click', () => action(async () => {
    if (state.mode === 'session') { state = await api('POST', '/api/refresh'); render(); }
    else if (!sdkRefreshNow()) message('no identity to refresh');
  }));

  $('optout').addEventListener('click', () => action(async () => {
    state = await api('POST', '/api/optout');   // the operator records the opt-out (session mode: the server refreshed already)
    if (state.mode === 'cookie') sdkRefreshNow(); // the SDK's refresh now answers optout and ends the chain
    render();
  }));

  $('logout').addEventListener('click', () => action(async () => {
    await api('POST', '/api/logout');
    clearBrowserStorage();
    location.reload();
  }));

  for (const radio of document.querySelectorAll('input[name=mode]')) {
    radio.addEventListener('change', () => action(async () => {
      await api('POST', '/api/mode', { mode: radio.value });
      clearBrowserStorage();
      location.reload();
    }));
  }

  $('send-ssp').addEventListener('click', () => action(async () => {
    $('ssp-status').textContent = 'sending…';
    const token = current().identity?.advertising_token;
    const response = await fetch('/ssp/bid', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: token });
    const bid = await response.json();
    $('ssp-status').textContent = bid.status;
    $('ssp-uid').textContent = bid.rawUid2 ?? '—';
    $('ssp-site').textContent = bid.siteId ?? '—';
    $('ssp-established').textContent = bid.established ?? '—';
    $('ssp-json').textContent = JSON.stringify(bid, null, 2);
  }));

  /** Loads the product's browser SDK (uid2-sdk.js or euid-sdk.js) after the handlers are queued. */
  function loadSdk() {
    const script = document.createElement('script');
    script.async = true;
    script.src = state.product.sdkUrl;
    document.head.appendChild(script);
  }

  (async function start() {
    await loadState();
    const product = state.product;
    document.title = `${product.name} publisher sample`;
    $('product').textContent = product.name;
    $('cookie-name').textContent = product.cookie;
    if (state.mode === 'cookie') {
      const queue = window[product.sdkGlobal] = window[product.sdkGlobal] || { callbacks: [] };
      queue.callbacks.push((eventType) => {
        if (eventType === 'SdkLoaded') {
          window[product.sdkGlobal].init({
            baseUrl: state.operatorUrl,
            useCookie: true,
            callback: (payload) => { sdkStatus = STATUS_NAMES[payload.status] ?? payload.statusText; },
          });
        }
        if (eventType === 'InitCompleted') document.body.dataset.ready = 'true';
        if (eventType === 'InitCompleted' || eventType === 'IdentityUpdated' || eventType === 'OptoutReceived') render();
      });
    } else {
      document.body.dataset.ready = 'true';
    }
    loadSdk();
  })().catch((e) => message(e.message));
})();
