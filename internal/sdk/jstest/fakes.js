// Fakes of the browser APIs herald.js and herald-sw.js use, and loaders
// that run each script in a fresh VM context, as a browser would run it.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const SDK_DIR = path.join(__dirname, '..');
const source = (name) => fs.readFileSync(path.join(SDK_DIR, name), 'utf8');
// herald.js as Herald serves it: the parts in herald/, in name order
// (internal/sdk/assets.go).
const heraldJS = () => fs.readdirSync(path.join(SDK_DIR, 'herald')).filter((n) => n.endsWith('.js')).sort()
  .map((n) => { const s = source(path.join('herald', n)); return s.endsWith('\n') ? s : s + '\n'; }).join('');

const HERALD = 'https://herald.example';
const SITE = 'https://site.example';
// A real P-256 public key, as Herald would give it.
const VAPID = 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM';
const VAPID2 = 'BPbVoVtARrDrlkpOLL-jevxe8U1ZeQug46p90jxbbG2UjTu5VZn8YBE0eKyO-QKys2l15dMdvCQYE9hJeLYwWRY';

/** A minimal IndexedDB: one database, object stores of cloned values. */
function fakeIndexedDB() {
  const stores = new Map();
  let upgraded = false;
  return {
    stores,
    open() {
      const req = {};
      setTimeout(() => {
        const db = {
          createObjectStore(n) {
            stores.set(n, new Map());
          },
          transaction(n) {
            const m = stores.get(n);
            const tx = {};
            const store = {
              get: (k) => ({result: structuredClone(m.get(k))}),
              put: (v, k) => (m.set(k, structuredClone(v)), {result: k}),
              delete: (k) => (m.delete(k), {result: undefined}),
            };
            tx.objectStore = () => store;
            setTimeout(() => tx.oncomplete && tx.oncomplete());
            return tx;
          },
        };
        req.result = db;
        if (!upgraded) {
          upgraded = true;
          if (req.onupgradeneeded) req.onupgradeneeded();
        }
        if (req.onsuccess) req.onsuccess();
      });
      return req;
    },
  };
}

let endpoints = 0;

/** A PushSubscription made with applicationServerKey (bytes). */
function fakeSubscription(key, opts = {}) {
  const n = ++endpoints;
  const sub = {
    endpoint: opts.endpoint || 'https://updates.push.services.mozilla.com/wpush/v2/e' + n,
    options: {userVisibleOnly: true, applicationServerKey: key ? Uint8Array.from(key).buffer : null},
    keys: opts.keys || {p256dh: 'p256dh-' + n, auth: 'auth-' + n},
    unsubscribed: false,
    toJSON() {
      return {endpoint: this.endpoint, expirationTime: null, keys: this.keys};
    },
    async unsubscribe() {
      this.unsubscribed = true;
      return true;
    },
  };
  return sub;
}

/** A PushManager remembering its subscription and every subscribe() call. */
function fakePushManager() {
  const pm = {
    current: null,
    calls: [],
    async getSubscription() {
      return pm.current && !pm.current.unsubscribed ? pm.current : null;
    },
    async subscribe(options) {
      pm.calls.push(options);
      pm.current = fakeSubscription(options.applicationServerKey);
      return pm.current;
    },
  };
  return pm;
}

/**
 * Herald's open endpoints, in memory: records every request, answers as
 * the server does. Override any route by setting routes['METHOD /path'].
 */
function fakeHerald() {
  const h = {
    requests: [],
    vapid: VAPID,
    channels: {webpush: true, fcm: true, apns: true},
    next: 0,
    routes: {},
  };
  const json = (status, body) => new Response(body === undefined ? null : JSON.stringify(body), {status, headers: {'Content-Type': 'application/json'}});
  h.fetch = async (url, init = {}) => {
    const u = new URL(url);
    const method = init.method || 'GET';
    const body = init.body ? JSON.parse(init.body) : undefined;
    const req = {method, path: u.pathname, query: Object.fromEntries(u.searchParams), headers: init.headers || {}, body, init};
    h.requests.push(req);
    const route = h.routes[method + ' ' + u.pathname];
    if (route) return route(req, json);
    if (method === 'GET' && u.pathname === '/sdk/config') return json(200, {app: req.query.app, vapid_public_key: h.vapid, channels: h.channels});
    if (method === 'POST' && u.pathname === '/sdk/v1/subscribers') {
      const id = 'r_' + ++h.next;
      return json(201, {registration_id: id, device_key: 'dk-' + id, created: true});
    }
    if (method === 'PATCH') return json(200, Object.assign({registration_id: u.pathname.split('/').pop()}, body));
    if (method === 'DELETE') return json(204);
    if (method === 'POST' && u.pathname === '/sdk/v1/events') return json(200, {counted: true});
    return json(404, {error: {code: 'not_found', message: 'no route'}});
  };
  h.last = (method, p) => [...h.requests].reverse().find((r) => r.method === method && r.path === p);
  h.count = (method, p) => h.requests.filter((r) => r.method === method && r.path === p).length;
  return h;
}

/** A Notification constructor whose requestPermission answers `answer`. */
function fakeNotification(answer, form) {
  const N = function Notification() {};
  N.permission = 'default';
  N.calls = 0;
  N.requestPermission = function (cb) {
    N.calls++;
    const settle = () => {
      N.permission = answer;
      return answer;
    };
    if (form === 'callback') {
      setTimeout(() => cb(settle()));
      return undefined;
    }
    if (form === 'both') {
      setTimeout(() => cb && cb(settle()));
      return Promise.resolve(settle());
    }
    return Promise.resolve(settle());
  };
  return N;
}

/**
 * A browser window with push support, running herald.js. opts: push
 * (false: no PushManager), sw (false: no serviceWorker), permission and
 * form (the requestPermission answer and its form), userAgent, native
 * (window.HeraldNative), herald (a fakeHerald), idb (a fakeIndexedDB).
 */
function loadPage(opts = {}) {
  const et = new EventTarget();
  const herald = opts.herald || fakeHerald();
  const pm = fakePushManager();
  const swEvents = new EventTarget();
  const reg = {active: {state: 'activated'}, pushManager: pm, scope: SITE + '/'};
  const registered = [];
  const win = {
    atob, btoa, URL, Response, console, structuredClone,
    setTimeout: (fn, ms) => setTimeout(fn, Math.min(ms || 0, opts.maxDelay === undefined ? 5 : opts.maxDelay)),
    clearTimeout,
    addEventListener: et.addEventListener.bind(et),
    removeEventListener: et.removeEventListener.bind(et),
    dispatchEvent: et.dispatchEvent.bind(et),
    Event,
    location: {href: SITE + '/page.html'},
    document: {readyState: 'complete', currentScript: {src: HERALD + '/sdk/herald.js'}},
    fetch: herald.fetch,
    indexedDB: opts.idb,
    navigator: {language: 'fa-IR', userAgent: opts.userAgent || 'Mozilla/5.0 Firefox/128.0'},
  };
  if (opts.sw !== false) {
    win.navigator.serviceWorker = {
      async register(url, o) {
        registered.push({url, options: o});
        return reg;
      },
      async getRegistration() {
        return reg;
      },
      addEventListener: swEvents.addEventListener.bind(swEvents),
      post(data) {
        const e = new Event('message');
        e.data = data;
        swEvents.dispatchEvent(e);
      },
    };
  }
  if (opts.push !== false) win.PushManager = function PushManager() {};
  if (opts.permission !== null) win.Notification = fakeNotification(opts.permission || 'granted', opts.form || 'promise');
  if (opts.native) win.HeraldNative = opts.native;
  win.window = win;
  vm.createContext(win);
  vm.runInContext(heraldJS(), win, {filename: 'herald.js'});
  return {win, Herald: win.Herald, herald, pm, reg, registered};
}

/** A service worker global running herald-sw.js, with its listeners. */
function loadWorker(opts = {}) {
  const herald = opts.herald || fakeHerald();
  const listeners = {};
  const shown = [];
  const pages = opts.pages || [];
  const opened = [];
  const pm = fakePushManager();
  const self = {
    atob, btoa, URL, Response, console,
    location: {href: opts.url || SITE + '/herald-sw.js?app=app_1&server=' + encodeURIComponent(HERALD)},
    fetch: herald.fetch,
    indexedDB: opts.idb,
    addEventListener(type, fn) {
      listeners[type] = fn;
    },
    registration: {
      scope: SITE + '/',
      pushManager: pm,
      async showNotification(title, options) {
        shown.push({title, options});
      },
    },
    clients: {
      async matchAll() {
        return pages;
      },
      async openWindow(url) {
        opened.push(url);
        return {url};
      },
    },
  };
  if (opts.HERALD) self.HERALD = opts.HERALD;
  self.self = self;
  vm.createContext(self);
  vm.runInContext(source('herald-sw.js'), self, {filename: 'herald-sw.js'});
  /** Fires an extendable event and waits for what it waited on. */
  async function fire(type, props) {
    let waited = null;
    const event = Object.assign({waitUntil: (p) => (waited = p)}, props);
    listeners[type](event);
    if (!waited) throw new Error(type + ': waitUntil was not called');
    return waited;
  }
  return {self, herald, listeners, shown, pages, opened, pm, fire};
}

/** A window client that records what the worker posts to it. */
function fakePage(url) {
  return {
    url, messages: [], focused: 0,
    postMessage(m) {
      this.messages.push(m);
    },
    async focus() {
      this.focused++;
      return this;
    },
  };
}

/** A PushMessageData of a JSON value or a string. */
function pushData(v) {
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return {text: () => text, json: () => JSON.parse(text)};
}

module.exports = {HERALD, SITE, VAPID, VAPID2, heraldJS, fakeIndexedDB, fakeSubscription, fakeHerald, fakeNotification, loadPage, loadWorker, fakePage, pushData};
