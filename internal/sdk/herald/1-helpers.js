/*
 * Herald browser SDK, part 1 of 2: constants, the error type and the pure
 * helpers (base64url, permission, subscription comparison, tag checks, the
 * native bridge, the IndexedDB state). Herald serves the parts of
 * internal/sdk/herald/ concatenated in name order as /sdk/herald.js; this
 * part hands its names to the next through root.__heraldParts, which that
 * part deletes at once. No build step, no dependencies.
 */
(function (root) {
  'use strict';

  const DB_NAME = 'herald';
  const DB_STORE = 'kv';
  const NATIVE_READY_EVENT = 'heraldnativeready';
  const NATIVE_TIMEOUT_MS = 10000;
  const MAX_TAGS = 100;

  /** Every error the SDK throws: `code` is stable, `message` says what to do. */
  class HeraldError extends Error {
    constructor(code, message, cause, status) {
      super('Herald: ' + message, cause === undefined ? undefined : {cause});
      this.name = 'HeraldError';
      this.code = code;
      if (status !== undefined) this.status = status;
    }
  }

  // ---- Pure helpers (exported for tests as Herald._internals) ----------

  /** The guide's helper: a base64url string (VAPID public key) as bytes. */
  function urlBase64ToUint8Array(s) {
    if (typeof s !== 'string' || s === '') {
      throw new HeraldError('bad-key', 'the VAPID public key is not a base64url string');
    }
    const b64 = (s + '='.repeat((4 - (s.length % 4)) % 4)).replace(/-/g, '+').replace(/_/g, '/');
    let raw;
    try {
      raw = root.atob(b64);
    } catch (e) {
      throw new HeraldError('bad-key', 'the VAPID public key is not base64url', e);
    }
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  /** Bytes (ArrayBuffer or Uint8Array) as unpadded base64url. */
  function uint8ArrayToUrlBase64(buf) {
    const bytes = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
    let s = '';
    for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return root.btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  /**
   * Asks for permission to show notifications. Old browsers answer
   * Notification.requestPermission through a callback, newer ones through a
   * Promise; both are handled and the first answer wins. Anything but
   * 'granted' rejects with a HeraldError coded 'permission-denied'.
   */
  function requestPermission(N) {
    if (!N || typeof N.requestPermission !== 'function') {
      return Promise.reject(new HeraldError('unsupported', 'this browser has no Notification API'));
    }
    if (N.permission === 'granted') return Promise.resolve('granted');
    return new Promise((resolve, reject) => {
      let answer;
      try {
        answer = N.requestPermission(resolve); // the callback form
      } catch (e) {
        reject(e);
        return;
      }
      if (answer && typeof answer.then === 'function') answer.then(resolve, reject); // the Promise form
    }).then((result) => {
      if (result === 'granted') return result;
      throw new HeraldError('permission-denied', result === 'denied'
        ? 'Permission denied: notifications are blocked for this site; only the user can allow them again, in the browser\'s site settings'
        : 'Permission denied: the user did not allow notifications (' + result + ')');
    });
  }

  /** A PushSubscription as compared with what Herald was told. */
  function describeSubscription(sub) {
    if (!sub) return null;
    const json = typeof sub.toJSON === 'function' ? sub.toJSON() : sub;
    const key = sub.options && sub.options.applicationServerKey;
    return {endpoint: json.endpoint, keys: json.keys || {}, serverKey: key ? uint8ArrayToUrlBase64(key) : ''};
  }

  const unpad = (s) => String(s || '').replace(/=+$/, '');

  /**
   * Why the registration stored in this browser no longer matches the
   * browser's push subscription, or '' when it does. stored is what Herald
   * was last told ({app, server, vapid, endpoint, p256dh, auth,
   * registration_id}); current is describeSubscription(subscription); want
   * is {app, server, vapid} now. 'vapid-key-changed' means the subscription
   * must be replaced (it was made with another key); the others mean
   * Herald must be told again.
   */
  function subscriptionMismatch(stored, current, want) {
    if (!current || !current.endpoint) return 'no-subscription';
    if (current.serverKey && want.vapid && unpad(current.serverKey) !== unpad(want.vapid)) return 'vapid-key-changed';
    if (!stored || !stored.registration_id || stored.type !== 'webpush') return 'not-registered';
    if (stored.app !== want.app || stored.server !== want.server) return 'not-registered';
    if (stored.vapid && want.vapid && unpad(stored.vapid) !== unpad(want.vapid)) return 'vapid-key-changed';
    if (stored.endpoint !== current.endpoint) return 'endpoint-changed';
    const k = current.keys || {};
    if (stored.p256dh !== k.p256dh || stored.auth !== k.auth) return 'keys-rotated';
    return '';
  }

  /** tags as a checked array of strings (one string is one tag). */
  function checkTags(tags) {
    const list = typeof tags === 'string' ? [tags] : tags;
    if (!Array.isArray(list) || list.some((t) => typeof t !== 'string' || t.trim() === '')) {
      throw new HeraldError('bad-argument', 'tags must be an array of non-empty strings');
    }
    if (list.length > MAX_TAGS) throw new HeraldError('bad-argument', 'at most ' + MAX_TAGS + ' tags per device');
    return list.slice();
  }

  /** The native bridge, if the wrapper has made it ready. */
  function nativeBridge(w) {
    const b = w && w.HeraldNative;
    return b && typeof b.getToken === 'function' ? b : null;
  }

  /** Whether the page runs inside a native wrapper (ready or not yet). */
  function inNativeWrapper(w) {
    if (w && w.HeraldNative) return true;
    const ua = (w && w.navigator && w.navigator.userAgent) || '';
    return /\bHeraldNative\b/.test(ua);
  }

  /** Resolves to the bridge once ready; rejects 'native-unreachable' after ms. */
  function whenNativeReady(w, ms) {
    const ready = nativeBridge(w);
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const onReady = () => {
        const b = nativeBridge(w);
        if (!b) return;
        w.clearTimeout(timer);
        w.removeEventListener(NATIVE_READY_EVENT, onReady);
        resolve(b);
      };
      const timer = w.setTimeout(() => {
        w.removeEventListener(NATIVE_READY_EVENT, onReady);
        reject(new HeraldError('native-unreachable', 'cannot reach the app\'s native code: window.HeraldNative did not become ready within ' + ms / 1000 + ' s'));
      }, ms);
      w.addEventListener(NATIVE_READY_EVENT, onReady);
    });
  }

  /** A rejection from HeraldNative.getToken() as one of the documented errors. */
  function nativeError(e) {
    const code = e && e.code;
    if (code === 'not-enabled' || code === 'push-not-enabled') {
      return new HeraldError('push-not-enabled', 'push is not enabled for this app', e);
    }
    if (code === 'unreachable' || code === 'native-unreachable') {
      return new HeraldError('native-unreachable', 'cannot reach the app\'s native code: ' + ((e && e.message) || e), e);
    }
    return new HeraldError('token-unavailable', 'the push token could not be obtained (is the device online?): ' + ((e && e.message) || e), e);
  }

  /** A small key-value store: IndexedDB (shared with herald-sw.js), else memory. */
  function openState(idb) {
    if (!idb) {
      const m = new Map();
      return {get: async (k) => m.get(k), set: async (k, v) => void m.set(k, v), del: async (k) => void m.delete(k)};
    }
    let db = null;
    const open = () => db || (db = new Promise((resolve, reject) => {
      const req = idb.open(DB_NAME, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(DB_STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    }));
    const run = (mode, fn) => open().then((d) => new Promise((resolve, reject) => {
      const tx = d.transaction(DB_STORE, mode);
      const req = fn(tx.objectStore(DB_STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = tx.onabort = () => reject(tx.error);
    }));
    return {
      get: (k) => run('readonly', (s) => s.get(k)),
      set: (k, v) => run('readwrite', (s) => s.put(v, k)),
      del: (k) => run('readwrite', (s) => s.delete(k)),
    };
  }

  root.__heraldParts = {
    NATIVE_READY_EVENT, NATIVE_TIMEOUT_MS, HeraldError, urlBase64ToUint8Array,
    uint8ArrayToUrlBase64, requestPermission, describeSubscription, subscriptionMismatch, checkTags,
    nativeBridge, inNativeWrapper, whenNativeReady, nativeError, openState,
  };
})(typeof window !== 'undefined' ? window : globalThis);
