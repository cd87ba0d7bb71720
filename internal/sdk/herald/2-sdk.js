/*
 * Herald browser SDK, part 2 of 2 (part 1 is 1-helpers.js): herald.js, served
 * by `herald serve` at /sdk/herald.js.
 *
 *   <script src="https://herald.example/sdk/herald.js"></script>
 *   Herald.init({app: 'app_…', serviceWorker: '/herald-sw.js'});
 *   button.onclick = async () => { const id = await Herald.subscribe({tags: ['news']}); … };
 *
 * docs/sdk.md documents every function, the native bridge contract and the
 * endpoints this file calls. Hand-written modern JavaScript: no build step,
 * no dependencies. It defines window.Herald, and window.getNotificationToken
 * and window.executeWhenAppReady unless the page already has them.
 */
(function (root) {
  'use strict';
  const {
    NATIVE_READY_EVENT, NATIVE_TIMEOUT_MS, HeraldError, urlBase64ToUint8Array,
    uint8ArrayToUrlBase64, requestPermission, describeSubscription, subscriptionMismatch, checkTags,
    nativeBridge, inNativeWrapper, whenNativeReady, nativeError, openState,
  } = root.__heraldParts;
  delete root.__heraldParts;

  // ---- The SDK ----------------------------------------------------------

  /** Builds the Herald object over a window (a fake one in tests). */
  function createHerald(win, scriptOrigin) {
    const nav = win.navigator || {};
    const listeners = {data: [], received: [], clicked: [], registration: [], error: []};
    let cfg = null;
    let state = null;
    let configReq = null;
    let inflight = null;
    let listening = false;

    const requireInit = () => {
      if (!cfg) throw new HeraldError('not-initialised', 'call Herald.init({app, server}) first');
    };
    const stateKey = () => 'state:' + cfg.app;
    const defaultLanguage = () => nav.language || '';
    const defaultTimezone = () => {
      try {
        return Intl.DateTimeFormat().resolvedOptions().timeZone || '';
      } catch (e) {
        return '';
      }
    };
    const emit = (type, detail) => {
      for (const fn of listeners[type] || []) {
        try {
          fn(detail);
        } catch (e) {
          if (win.console) win.console.error('Herald: a ' + type + ' listener threw', e);
        }
      }
    };
    const pushSupported = () => 'serviceWorker' in nav && 'PushManager' in win && 'Notification' in win;
    const checkSupport = () => {
      if (!('serviceWorker' in nav)) {
        throw new HeraldError('unsupported', 'this browser cannot receive push: it has no service workers (\'serviceWorker\' in navigator is false; private windows and plain-http pages other than localhost have none)');
      }
      if (!('PushManager' in win)) {
        throw new HeraldError('unsupported', 'this browser cannot receive push: \'PushManager\' in window is false');
      }
      if (!('Notification' in win)) {
        throw new HeraldError('unsupported', 'this browser cannot show notifications: \'Notification\' in window is false');
      }
    };
    const pageLoaded = () => {
      const doc = win.document;
      if (!doc || doc.readyState === 'complete') return Promise.resolve();
      return new Promise((resolve) => win.addEventListener('load', () => resolve(), {once: true}));
    };

    /** Calls one of Herald's open endpoints and returns the JSON answer. */
    async function call(method, path, body, deviceKey) {
      const url = cfg.server + path + (path.includes('?') ? '&' : '?') + 'app=' + encodeURIComponent(cfg.app);
      const headers = {};
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      if (deviceKey) headers['X-Herald-Device-Key'] = deviceKey;
      let res;
      try {
        res = await win.fetch(url, {method, headers, body: body === undefined ? undefined : JSON.stringify(body), mode: 'cors', credentials: 'omit'});
      } catch (e) {
        throw new HeraldError('network', 'cannot reach Herald at ' + cfg.server + ' (' + ((e && e.message) || e) + ')', e);
      }
      let data = null;
      if (res.status !== 204) {
        try {
          data = await res.json();
        } catch (e) {
          data = null;
        }
      }
      if (!res.ok) {
        const err = (data && data.error) || {};
        const code = {push_not_enabled: 'push-not-enabled', forbidden: 'forbidden', not_found: 'not-found'}[err.code] || 'server';
        throw new HeraldError(code, (err.message || 'HTTP ' + res.status) + ' (' + method + ' ' + path + ')', undefined, res.status);
      }
      return data;
    }

    /** GET /sdk/config: the app's VAPID key and enabled channels, once per page. */
    function serverConfig() {
      if (!configReq) {
        configReq = call('GET', '/sdk/config').catch((e) => {
          configReq = null;
          if (e.status === 404) throw new HeraldError('unknown-app', 'Herald at ' + cfg.server + ' has no app ' + cfg.app, e, 404);
          throw e;
        });
      }
      return configReq;
    }

    function workerURL() {
      const url = new URL(cfg.serviceWorker, win.location.href);
      url.searchParams.set('app', cfg.app);
      url.searchParams.set('server', cfg.server);
      return url.href;
    }

    /** Waits until reg has an active worker (pushManager.subscribe needs one). */
    function activated(reg) {
      if (reg.active) return Promise.resolve(reg);
      const w = reg.installing || reg.waiting;
      if (!w) return Promise.resolve(reg);
      return new Promise((resolve, reject) => {
        const check = () => {
          if (w.state === 'activated' || reg.active) resolve(reg);
          else if (w.state === 'redundant') reject(new HeraldError('service-worker', 'the service worker ' + cfg.serviceWorker + ' failed to install (see the browser console)'));
        };
        w.addEventListener('statechange', check);
        check();
      });
    }

    async function registerWorker() {
      let reg;
      try {
        reg = await nav.serviceWorker.register(workerURL(), cfg.scope ? {scope: cfg.scope} : undefined);
      } catch (e) {
        throw new HeraldError('service-worker', 'cannot register the service worker ' + cfg.serviceWorker + ' (it must be a file on this site\'s own origin; see docs/sdk.md): ' + ((e && e.message) || e), e);
      }
      return activated(reg);
    }

    /** The guide's six steps, then Herald; onlyIfChanged skips a needless POST. */
    async function doSubscribe(opts, onlyIfChanged) {
      checkSupport();
      await pageLoaded();
      const reg = await registerWorker();
      const conf = await serverConfig();
      await requestPermission(win.Notification);
      let sub = await reg.pushManager.getSubscription();
      const stored = await state.get(stateKey());
      const want = {app: cfg.app, server: cfg.server, vapid: conf.vapid_public_key};
      const reason = subscriptionMismatch(stored, describeSubscription(sub), want);
      if (reason === 'vapid-key-changed' && sub) {
        await sub.unsubscribe();
        sub = null;
      }
      if (!sub) {
        try {
          sub = await reg.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: urlBase64ToUint8Array(conf.vapid_public_key)});
        } catch (e) {
          throw new HeraldError('subscribe-failed', 'the browser refused to subscribe to push: ' + ((e && e.message) || e), e);
        }
      }
      if (onlyIfChanged && reason === '' && stored) return stored.registration_id;
      return registerWebPush(sub, stored, opts, conf);
    }

    async function registerWebPush(sub, stored, opts, conf) {
      const json = sub.toJSON();
      const known = stored && stored.registration_id && stored.app === cfg.app && stored.server === cfg.server;
      const body = {type: 'webpush', subscription: {endpoint: json.endpoint, keys: json.keys}};
      if (opts.tags !== undefined) body.tags = checkTags(opts.tags);
      if (opts.alias !== undefined) body.alias = opts.alias == null ? '' : String(opts.alias);
      // A device registered before keeps the language and time zone it has
      // (perhaps set with setLanguage); a new one gets the browser's.
      const language = opts.language !== undefined ? opts.language : known ? undefined : defaultLanguage();
      const timezone = opts.timezone !== undefined ? opts.timezone : known ? undefined : defaultTimezone();
      if (language) body.language = language;
      if (timezone) body.timezone = timezone;
      if (known && stored.endpoint !== json.endpoint) {
        // The old subscription is dead: Herald moves its tags and alias over.
        body.replaces = {registration_id: stored.registration_id, device_key: stored.device_key};
      }
      const res = await call('POST', '/sdk/v1/subscribers', body);
      await state.set(stateKey(), {
        type: 'webpush', app: cfg.app, server: cfg.server, vapid: conf.vapid_public_key,
        endpoint: json.endpoint, p256dh: json.keys && json.keys.p256dh, auth: json.keys && json.keys.auth,
        registration_id: res.registration_id, device_key: res.device_key,
      });
      if (!stored || stored.registration_id !== res.registration_id) {
        emit('registration', {registration_id: res.registration_id, previous: (stored && stored.registration_id) || null});
      }
      return res.registration_id;
    }

    async function nativeToken() {
      const bridge = await whenNativeReady(win, NATIVE_TIMEOUT_MS);
      let answer;
      try {
        answer = bridge.getToken();
      } catch (e) {
        throw new HeraldError('native-unreachable', 'cannot reach the app\'s native code: HeraldNative.getToken() threw ' + ((e && e.message) || e), e);
      }
      try {
        answer = await answer;
      } catch (e) {
        throw nativeError(e);
      }
      if (!answer || typeof answer.token !== 'string' || answer.token === '') {
        throw new HeraldError('token-unavailable', 'the push token could not be obtained: the app returned none');
      }
      const platform = answer.platform;
      if (platform !== 'fcm' && platform !== 'apns') {
        throw new HeraldError('native-unreachable', 'the app\'s bridge answered platform ' + JSON.stringify(platform) + '; want fcm or apns');
      }
      if (!cfg) return {token: answer.token, platform};
      let conf;
      try {
        conf = await serverConfig();
      } catch (e) {
        if (e.code === 'network') throw new HeraldError('token-unavailable', 'the push token could not be registered: Herald is unreachable (is the device online?)', e);
        throw e;
      }
      if (conf.channels && conf.channels[platform] === false) {
        throw new HeraldError('push-not-enabled', 'push is not enabled for this app (' + platform + ')');
      }
      const stored = await state.get(stateKey());
      const known = stored && stored.registration_id && stored.app === cfg.app && stored.server === cfg.server;
      const body = {type: platform, token: answer.token};
      if (!known || stored.token !== answer.token) {
        body.language = defaultLanguage() || undefined;
        body.timezone = defaultTimezone() || undefined;
      }
      if (known && stored.token !== answer.token) {
        body.replaces = {registration_id: stored.registration_id, device_key: stored.device_key};
      }
      let res;
      try {
        res = await call('POST', '/sdk/v1/subscribers', body);
      } catch (e) {
        if (e.code === 'network') throw new HeraldError('token-unavailable', 'the push token could not be registered: Herald is unreachable (is the device online?)', e);
        throw e;
      }
      await state.set(stateKey(), {
        type: platform, app: cfg.app, server: cfg.server, token: answer.token,
        registration_id: res.registration_id, device_key: res.device_key,
      });
      return {token: answer.token, platform, registration_id: res.registration_id};
    }

    /** PATCH /sdk/v1/subscribers/{id} with this device's key. */
    async function update(body) {
      requireInit();
      const st = await state.get(stateKey());
      if (!st || !st.registration_id) {
        throw new HeraldError('not-subscribed', 'this device is not registered yet: call Herald.subscribe() (or getNotificationToken()) first');
      }
      try {
        return await call('PATCH', '/sdk/v1/subscribers/' + encodeURIComponent(st.registration_id), body, st.device_key);
      } catch (e) {
        if (e.status === 404) {
          await state.del(stateKey());
          throw new HeraldError('not-subscribed', 'Herald no longer has this device (it was unsubscribed or its subscription expired): call Herald.subscribe() again', e, 404);
        }
        throw e;
      }
    }

    function onWorkerMessage(event) {
      const m = event && event.data;
      if (!m || typeof m.herald !== 'string' || !listeners[m.herald]) return;
      emit(m.herald, m);
    }

    const H = {
      HeraldError,

      /**
       * Configures the SDK: {app, server, serviceWorker, scope}. server
       * defaults to the origin herald.js was loaded from; serviceWorker to
       * '/herald-sw.js'. If this browser subscribed before and permission
       * stands, the subscription is checked against Herald in the
       * background (Herald.ready settles when done).
       */
      init(opts) {
        if (!opts || typeof opts.app !== 'string' || opts.app === '') {
          throw new HeraldError('bad-argument', 'Herald.init needs {app: \'<app id>\'}');
        }
        const server = String(opts.server || scriptOrigin || '').replace(/\/+$/, '');
        if (!/^https?:\/\/[^/]+(\/.*)?$/.test(server)) {
          throw new HeraldError('bad-argument', 'Herald.init needs {server: \'https://herald.example\'}');
        }
        cfg = {app: opts.app, server, serviceWorker: opts.serviceWorker || '/herald-sw.js', scope: opts.scope || ''};
        state = opts.storage || openState(win.indexedDB);
        configReq = null;
        if (!listening && nav.serviceWorker && typeof nav.serviceWorker.addEventListener === 'function') {
          nav.serviceWorker.addEventListener('message', onWorkerMessage);
          listening = true;
        }
        H.ready = H.refresh().catch((e) => {
          emit('error', e);
          return null;
        });
        return H;
      },

      /** Whether this browser can receive Web Push at all. */
      isSupported: pushSupported,

      /**
       * Subscribes this browser and registers it with Herald; resolves to
       * the registration_id. Call it from a user action (a click): the
       * permission prompt must not greet a first visit.
       */
      subscribe(opts) {
        return (async () => {
          requireInit();
          const run = () => doSubscribe(opts || {}, false);
          inflight = (inflight || Promise.resolve()).catch(() => {}).then(run);
          return inflight;
        })();
      },

      /**
       * Re-checks a browser that subscribed before, without prompting:
       * resubscribes when the app's VAPID key changed and tells Herald when
       * the endpoint or keys did. Resolves to the registration_id, or null
       * when there is nothing to check.
       */
      async refresh() {
        requireInit();
        if (!pushSupported() || win.Notification.permission !== 'granted') return null;
        const st = await state.get(stateKey());
        if (!st || st.type !== 'webpush') return null;
        inflight = (inflight || Promise.resolve()).catch(() => {}).then(() => doSubscribe({}, true));
        return inflight;
      },

      /** Unsubscribes this browser and removes it from Herald. */
      async unsubscribe() {
        requireInit();
        const st = await state.get(stateKey());
        if (pushSupported()) {
          const reg = await nav.serviceWorker.getRegistration(cfg.scope || workerURL());
          const sub = reg && (await reg.pushManager.getSubscription());
          if (sub) await sub.unsubscribe();
        }
        if (st && st.registration_id) {
          try {
            await call('DELETE', '/sdk/v1/subscribers/' + encodeURIComponent(st.registration_id), undefined, st.device_key);
          } catch (e) {
            if (e.status !== 404) throw e;
          }
        }
        await state.del(stateKey());
      },

      /** This device's registration_id, or null; never prompts. */
      async getRegistrationId() {
        requireInit();
        const st = await state.get(stateKey());
        return (st && st.registration_id) || null;
      },

      /** Replaces this device's tags. */
      setTags: async (tags) => update({tags: checkTags(tags)}),
      /** Adds tags to this device. */
      addTags: async (tags) => update({tags_add: checkTags(tags)}),
      /** Removes tags from this device. */
      removeTags: async (tags) => update({tags_remove: checkTags(tags)}),
      /** Binds this device to the site's user id; null or '' unbinds. */
      setAlias: async (alias) => update({alias: alias == null ? '' : String(alias)}),
      /** Sets the language (default: navigator.language). */
      setLanguage: async (language) => update({language: language === undefined ? defaultLanguage() : String(language)}),
      /** Sets the IANA time zone (default: the browser's). */
      setTimezone: async (tz) => update({timezone: tz === undefined ? defaultTimezone() : String(tz)}),

      /**
       * Resolves to {token, platform, registration_id}. Inside a native
       * wrapper (window.HeraldNative) the token is the app's FCM or APNs
       * token, registered with Herald; in a browser it is the Web Push
       * registration_id (this subscribes, so it may prompt).
       */
      async getNotificationToken() {
        if (inNativeWrapper(win)) return nativeToken();
        requireInit();
        if (!pushSupported()) checkSupport();
        const id = await H.subscribe();
        return {token: id, platform: 'webpush', registration_id: id};
      },

      /**
       * Runs fn once the native app is ready (at once if it is). In a plain
       * browser fn does not run, as with webtoapp's helper, unless
       * {browser: true} is given (then it runs once the page has loaded).
       * Resolves to true when fn ran (and settled), false when it did not.
       */
      executeWhenAppReady(fn, opts) {
        if (typeof fn !== 'function') return Promise.reject(new HeraldError('bad-argument', 'executeWhenAppReady takes a function'));
        const run = () => Promise.resolve().then(() => fn()).then(() => true);
        if (nativeBridge(win)) return run();
        if (inNativeWrapper(win)) {
          return new Promise((resolve) => {
            const onReady = () => {
              if (!nativeBridge(win)) return;
              win.removeEventListener(NATIVE_READY_EVENT, onReady);
              resolve();
            };
            win.addEventListener(NATIVE_READY_EVENT, onReady);
          }).then(run);
        }
        if (opts && opts.browser) return pageLoaded().then(run);
        return Promise.resolve(false);
      },

      /** Listens for 'data', 'received', 'clicked', 'registration' or 'error'. */
      on(type, fn) {
        if (!listeners[type] || typeof fn !== 'function') throw new HeraldError('bad-argument', 'Herald.on(type, fn): type is one of ' + Object.keys(listeners).join(', '));
        listeners[type].push(fn);
        return () => {
          listeners[type] = listeners[type].filter((f) => f !== fn);
        };
      },

      ready: Promise.resolve(null),

      _internals: {
        HeraldError, urlBase64ToUint8Array, uint8ArrayToUrlBase64, requestPermission, describeSubscription,
        subscriptionMismatch, checkTags, nativeBridge, inNativeWrapper, whenNativeReady, nativeError, openState, createHerald,
      },
    };
    return H;
  }

  // The origin this file was loaded from: Herald's, the default server.
  let scriptOrigin = '';
  try {
    const cur = root.document && root.document.currentScript;
    if (cur && cur.src) scriptOrigin = new URL(cur.src).origin;
  } catch (e) {
    scriptOrigin = '';
  }

  const Herald = createHerald(root, scriptOrigin);
  root.Herald = Herald;
  // webtoapp's helpers, as globals, so that calling them never throws a
  // ReferenceError in a plain browser. A wrapper's own versions win.
  if (typeof root.getNotificationToken !== 'function') root.getNotificationToken = () => Herald.getNotificationToken();
  if (typeof root.executeWhenAppReady !== 'function') root.executeWhenAppReady = (fn, opts) => Herald.executeWhenAppReady(fn, opts);
})(typeof window !== 'undefined' ? window : globalThis);
