/*
 * Herald service worker: herald-sw.js, served by `herald serve` at
 * /sdk/herald-sw.js.
 *
 * A service worker must come from the site's own origin, so the site serves
 * a one-line file of its own, e.g. /herald-sw.js:
 *
 *   importScripts('https://herald.example/sdk/herald-sw.js');
 *
 * Herald.init() registers that file with ?app=<id>&server=<Herald's URL>,
 * which is where this script reads its settings; a site that registers the
 * worker itself can set self.HERALD = {app, server} before importScripts.
 *
 * It shows each push (title, body, icon, image, tag, data.url), hands data
 * messages to open pages instead, reports `received` and `clicked` to
 * Herald (POST /sdk/v1/events, with the payload's signed rid and sig),
 * opens or focuses the URL on a click, and resubscribes on
 * pushsubscriptionchange. self.HeraldSW exposes the handlers (docs/sdk.md).
 */
(function (self) {
  'use strict';

  const DB_NAME = 'herald';
  const DB_STORE = 'kv';

  function readConfig() {
    const given = self.HERALD || {};
    const q = new URL(self.location.href).searchParams;
    return {
      app: String(given.app || q.get('app') || ''),
      server: String(given.server || q.get('server') || '').replace(/\/+$/, ''),
    };
  }
  const cfg = readConfig();
  const log = (...args) => self.console && self.console.warn('Herald:', ...args);

  // ---- storage shared with herald.js (IndexedDB "herald", store "kv") ----
  let db = null;
  function openDB() {
    if (!self.indexedDB) return Promise.reject(new Error('no IndexedDB'));
    return db || (db = new Promise((resolve, reject) => {
      const req = self.indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(DB_STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    }));
  }
  function kv(mode, fn) {
    return openDB().then((d) => new Promise((resolve, reject) => {
      const tx = d.transaction(DB_STORE, mode);
      const req = fn(tx.objectStore(DB_STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = tx.onabort = () => reject(tx.error);
    }));
  }
  const stateKey = () => 'state:' + cfg.app;

  function toBase64URL(buf) {
    const bytes = new Uint8Array(buf);
    let s = '';
    for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return self.btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function fromBase64URL(s) {
    const raw = self.atob((s + '='.repeat((4 - (s.length % 4)) % 4)).replace(/-/g, '+').replace(/_/g, '/'));
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  /** The push's payload: Herald's JSON, or the text of anything else. */
  function parsePayload(data) {
    if (!data) return {};
    try {
      const p = data.json();
      return p && typeof p === 'object' ? p : {body: String(p)};
    } catch (e) {
      try {
        return {body: data.text()};
      } catch (e2) {
        return {};
      }
    }
  }

  /** A data message has data and nothing to show. */
  const isDataMessage = (p) => p.data !== undefined && p.data !== null && !p.title && !p.body;

  /**
   * POSTs one report to Herald. text/plain keeps it a CORS "simple"
   * request (no preflight). Resolves to whether Herald took it; never
   * rejects (a lost report must not fail the push or the click).
   */
  function report(type, p, action) {
    if (!p || !p.id || !p.rid || !p.sig || !cfg.server || !cfg.app) return Promise.resolve(false);
    const body = {type, message_id: String(p.id), rid: p.rid, sig: p.sig};
    if (action) body.action = action;
    return self.fetch(cfg.server + '/sdk/v1/events?app=' + encodeURIComponent(cfg.app), {
      method: 'POST', body: JSON.stringify(body), headers: {'Content-Type': 'text/plain;charset=UTF-8'},
      mode: 'cors', credentials: 'omit', keepalive: true,
    }).then((r) => {
      if (!r.ok) log('Herald refused the ' + type + ' report of message ' + p.id + ': HTTP ' + r.status);
      return r.ok;
    }, (e) => {
      log('could not report ' + type + ' of message ' + p.id, e);
      return false;
    });
  }

  /** Posts msg to every open page of this worker's scope; resolves to how many. */
  async function toPages(msg) {
    const list = await self.clients.matchAll({type: 'window', includeUncontrolled: true});
    for (const c of list) c.postMessage(msg);
    return list.length;
  }

  /**
   * Handles one payload: a data message goes to the open pages, anything
   * else is shown. Resolves to {shown, title, pages, reported}.
   */
  async function handlePush(p) {
    const info = {message_id: p.id === undefined ? null : String(p.id), extras: p.extras, data: p.data};
    if (isDataMessage(p)) {
      const [pages, reported] = await Promise.all([toPages(Object.assign({herald: 'data'}, info)), report('received', p)]);
      return {shown: false, pages, reported};
    }
    const title = typeof p.title === 'string' ? p.title : '';
    const options = {
      body: typeof p.body === 'string' ? p.body : '',
      // What the click needs: where to go, and what to report.
      data: {url: p.url || '', id: p.id, rid: p.rid, sig: p.sig, extras: p.extras},
    };
    if (p.icon) options.icon = p.icon;
    if (p.image) options.image = p.image;
    if (p.tag) {
      options.tag = p.tag; // replaces an earlier notification with the same tag
      options.renotify = true;
    }
    await self.registration.showNotification(title, options);
    const [pages, reported] = await Promise.all([
      toPages(Object.assign({herald: 'received', title, body: options.body, url: p.url || ''}, info)).catch(() => 0),
      report('received', p),
    ]);
    return {shown: true, title, pages, reported};
  }

  /** Focuses a page already at url, else opens it; no url: the site's. */
  async function openOrFocus(url) {
    const list = await self.clients.matchAll({type: 'window', includeUncontrolled: true});
    const target = url || self.registration.scope;
    for (const c of list) {
      if (c.url === target && typeof c.focus === 'function') return c.focus();
    }
    if (!url) {
      for (const c of list) if (typeof c.focus === 'function') return c.focus();
    }
    return self.clients.openWindow ? self.clients.openWindow(target) : null;
  }

  /**
   * Handles a click on a notification Herald's worker showed: closes it,
   * reports `clicked`, opens or focuses its URL and tells open pages.
   * Resolves to whether Herald took the report.
   */
  async function handleClick(notification, action) {
    const d = (notification && notification.data) || {};
    if (notification && typeof notification.close === 'function') notification.close();
    const url = d.url ? new URL(d.url, self.registration.scope).href : '';
    const [reported] = await Promise.all([
      report('clicked', d, action),
      // Outside a real click (a test, say) the browser refuses to open or
      // focus a window; the report still counts.
      openOrFocus(url).catch((e) => log('could not open ' + (url || 'the site'), e)),
      toPages({herald: 'clicked', message_id: d.id === undefined ? null : String(d.id), url, action: action || '', extras: d.extras}).catch(() => 0),
    ]);
    return reported;
  }

  /**
   * The browser replaced (or dropped) the push subscription: subscribe
   * again if needed and tell Herald, which moves the old registration's
   * tags and alias to the new one and drops the old.
   */
  async function resubscribe(event) {
    if (!cfg.server || !cfg.app) return null;
    const st = await kv('readonly', (s) => s.get(stateKey())).catch(() => undefined);
    let sub = event && event.newSubscription;
    let key = event && event.oldSubscription && event.oldSubscription.options && event.oldSubscription.options.applicationServerKey;
    let vapid = key ? toBase64URL(key) : (st && st.vapid) || '';
    if (!sub) {
      if (!vapid) {
        const r = await self.fetch(cfg.server + '/sdk/config?app=' + encodeURIComponent(cfg.app), {mode: 'cors', credentials: 'omit'});
        vapid = (await r.json()).vapid_public_key;
      }
      sub = await self.registration.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: fromBase64URL(vapid)});
    }
    const json = sub.toJSON();
    const body = {type: 'webpush', subscription: {endpoint: json.endpoint, keys: json.keys}};
    const known = st && st.registration_id && st.app === cfg.app && st.server === cfg.server;
    if (known && st.endpoint !== json.endpoint) body.replaces = {registration_id: st.registration_id, device_key: st.device_key};
    const r = await self.fetch(cfg.server + '/sdk/v1/subscribers?app=' + encodeURIComponent(cfg.app), {
      method: 'POST', body: JSON.stringify(body), headers: {'Content-Type': 'application/json'}, mode: 'cors', credentials: 'omit',
    });
    if (!r.ok) throw new Error('Herald: registering the new subscription failed: HTTP ' + r.status);
    const res = await r.json();
    await kv('readwrite', (s) => s.put({
      type: 'webpush', app: cfg.app, server: cfg.server, vapid,
      endpoint: json.endpoint, p256dh: json.keys && json.keys.p256dh, auth: json.keys && json.keys.auth,
      registration_id: res.registration_id, device_key: res.device_key,
    }, stateKey())).catch((e) => log('could not store the new registration', e));
    await toPages({herald: 'registration', registration_id: res.registration_id, previous: (st && st.registration_id) || null}).catch(() => 0);
    return res.registration_id;
  }

  self.addEventListener('push', (event) => {
    const p = parsePayload(event.data);
    event.waitUntil(handlePush(p).catch((e) => {
      log('could not handle a push', e);
      // A push must show something (userVisibleOnly); say what arrived.
      return self.registration.showNotification(p.title || '', {body: p.body || ''});
    }));
  });

  self.addEventListener('notificationclick', (event) => {
    event.waitUntil(handleClick(event.notification, event.action));
  });

  self.addEventListener('pushsubscriptionchange', (event) => {
    event.waitUntil(resubscribe(event).catch((e) => log('could not resubscribe', e)));
  });

  self.HeraldSW = {config: cfg, parsePayload, isDataMessage, handlePush, handleClick, resubscribe, report};
})(self);
