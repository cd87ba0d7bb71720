// Unit tests of herald.js's pure parts and of its flows against fakes of
// the browser and of Herald. Run: node --test internal/sdk/jstest/
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const vm = require('node:vm');
const {HERALD, SITE, VAPID, VAPID2, heraldJS, fakeIndexedDB, fakeSubscription, fakeNotification, loadPage} = require('./fakes.js');

/** Asserts that p rejects with a HeraldError of code (and message part). */
async function rejectsWith(p, code, part) {
  await assert.rejects(p, (e) => {
    assert.equal(e.name, 'HeraldError', 'not a HeraldError: ' + e);
    assert.equal(e.code, code, 'code of: ' + e.message);
    assert.match(e.message, /^Herald: /);
    if (part) assert.ok(e.message.includes(part), e.message + ' lacks ' + JSON.stringify(part));
    return true;
  });
}

const internals = () => loadPage().Herald._internals;
// Values made in the script's VM context have that context's prototypes;
// compare them as plain JSON.
const plain = (v) => JSON.parse(JSON.stringify(v));

test('urlBase64ToUint8Array decodes base64url with and without padding', () => {
  const {urlBase64ToUint8Array, uint8ArrayToUrlBase64} = internals();
  assert.deepEqual([...urlBase64ToUint8Array('AQID')], [1, 2, 3]);
  assert.deepEqual([...urlBase64ToUint8Array('-_8')], [0xfb, 0xff]);
  assert.deepEqual([...urlBase64ToUint8Array('-_8=')], [0xfb, 0xff]);
  const key = urlBase64ToUint8Array(VAPID);
  assert.equal(key.length, 65);
  assert.equal(key[0], 4, 'an uncompressed P-256 point starts with 4');
  assert.equal(uint8ArrayToUrlBase64(key), VAPID);
  assert.equal(uint8ArrayToUrlBase64(key.buffer), VAPID);
  for (const bad of ['', '!!!!', null, 42]) {
    assert.throws(() => urlBase64ToUint8Array(bad), (e) => e.code === 'bad-key');
  }
});

test('requestPermission handles the callback and the Promise forms', async (t) => {
  const {requestPermission} = internals();
  for (const form of ['callback', 'promise', 'both']) {
    await t.test(form + ' form, granted', async () => {
      const N = fakeNotification('granted', form);
      assert.equal(await requestPermission(N), 'granted');
      assert.equal(N.calls, 1);
    });
    for (const answer of ['denied', 'default']) {
      await t.test(form + ' form, ' + answer, async () => {
        await rejectsWith(requestPermission(fakeNotification(answer, form)), 'permission-denied', 'Permission denied');
      });
    }
  }
  await t.test('already granted: no prompt', async () => {
    const N = fakeNotification('granted', 'promise');
    N.permission = 'granted';
    assert.equal(await requestPermission(N), 'granted');
    assert.equal(N.calls, 0);
  });
  await t.test('no Notification API', async () => {
    await rejectsWith(requestPermission(undefined), 'unsupported');
  });
  await t.test('requestPermission throws', async () => {
    const N = {permission: 'default', requestPermission() {
      throw new Error('boom');
    }};
    await assert.rejects(requestPermission(N), /boom/);
  });
});

test('subscriptionMismatch says why a stored registration is stale', () => {
  const {subscriptionMismatch} = internals();
  const want = {app: 'app_1', server: HERALD, vapid: VAPID};
  const stored = {type: 'webpush', app: 'app_1', server: HERALD, vapid: VAPID, endpoint: 'https://p/e1', p256dh: 'k1', auth: 'a1', registration_id: 'r_1'};
  const current = {endpoint: 'https://p/e1', keys: {p256dh: 'k1', auth: 'a1'}, serverKey: VAPID};
  const cases = [
    ['matches', stored, current, want, ''],
    ['padding does not matter', stored, Object.assign({}, current, {serverKey: VAPID + '='}), want, ''],
    ['no serverKey known', stored, Object.assign({}, current, {serverKey: ''}), want, ''],
    ['no subscription', stored, null, want, 'no-subscription'],
    ['never registered', undefined, current, want, 'not-registered'],
    ['registered natively', Object.assign({}, stored, {type: 'fcm'}), current, want, 'not-registered'],
    ['another app', stored, current, Object.assign({}, want, {app: 'app_2'}), 'not-registered'],
    ['another server', stored, current, Object.assign({}, want, {server: 'https://other.example'}), 'not-registered'],
    ['subscription made with another key', stored, Object.assign({}, current, {serverKey: VAPID2}), want, 'vapid-key-changed'],
    ['app key rotated since', stored, Object.assign({}, current, {serverKey: ''}), Object.assign({}, want, {vapid: VAPID2}), 'vapid-key-changed'],
    ['endpoint changed', stored, Object.assign({}, current, {endpoint: 'https://p/e2'}), want, 'endpoint-changed'],
    ['keys rotated', stored, Object.assign({}, current, {keys: {p256dh: 'k2', auth: 'a1'}}), want, 'keys-rotated'],
    ['auth rotated', stored, Object.assign({}, current, {keys: {p256dh: 'k1', auth: 'a2'}}), want, 'keys-rotated'],
  ];
  for (const [name, s, c, w, reason] of cases) assert.equal(subscriptionMismatch(s, c, w), reason, name);
});

test('checkTags', () => {
  const {checkTags} = internals();
  assert.deepEqual(plain(checkTags('a')), ['a']);
  assert.deepEqual(plain(checkTags(['a', 'b'])), ['a', 'b']);
  for (const bad of [[''], [' '], [1], 'x'.split('').concat(null), {}, undefined, new Array(101).fill('t')]) {
    assert.throws(() => checkTags(bad), (e) => e.code === 'bad-argument');
  }
});

test('the globals exist in a plain browser: no ReferenceError', () => {
  const {win} = loadPage();
  assert.equal(vm.runInContext('typeof getNotificationToken', win), 'function');
  assert.equal(vm.runInContext('typeof executeWhenAppReady', win), 'function');
  assert.equal(vm.runInContext('typeof Herald.subscribe', win), 'function');
});

test('a wrapper\'s own globals are not replaced', () => {
  const vmCtx = {};
  const {win} = loadPage();
  const mine = () => 'mine';
  const ctx = Object.assign(vmCtx, win, {getNotificationToken: mine, executeWhenAppReady: mine});
  ctx.window = ctx;
  vm.createContext(ctx);
  vm.runInContext(heraldJS(), ctx);
  assert.equal(ctx.getNotificationToken, mine);
  assert.equal(ctx.executeWhenAppReady, mine);
});

test('init checks its options and defaults the server to herald.js\'s origin', () => {
  const {Herald} = loadPage();
  assert.throws(() => Herald.init({}), (e) => e.code === 'bad-argument');
  assert.throws(() => Herald.init({app: 'app_1', server: 'herald.example'}), (e) => e.code === 'bad-argument');
  Herald.init({app: 'app_1'});
  return Herald.ready;
});

test('subscribe: feature checks give clear errors', async (t) => {
  await t.test('no service workers', async () => {
    const {Herald} = loadPage({sw: false});
    Herald.init({app: 'app_1', server: HERALD});
    await rejectsWith(Herald.subscribe(), 'unsupported', '\'serviceWorker\' in navigator');
  });
  await t.test('no PushManager', async () => {
    const {Herald} = loadPage({push: false});
    Herald.init({app: 'app_1', server: HERALD});
    await rejectsWith(Herald.subscribe(), 'unsupported', '\'PushManager\' in window');
    assert.equal(Herald.isSupported(), false);
  });
  await t.test('not initialised', async () => {
    const {Herald} = loadPage();
    await rejectsWith(Herald.subscribe(), 'not-initialised');
  });
});

test('subscribe: the guide\'s six steps, then Herald', async () => {
  const {Herald, herald, pm, registered, win} = loadPage({permission: 'granted', form: 'callback'});
  Herald.init({app: 'app_1', server: HERALD + '/', serviceWorker: '/herald-sw.js'});
  const id = await Herald.subscribe({tags: ['news'], alias: 'user-9'});
  assert.equal(id, 'r_1');
  assert.equal(registered.length, 1);
  const sw = new URL(registered[0].url);
  assert.equal(sw.origin + sw.pathname, SITE + '/herald-sw.js');
  assert.equal(sw.searchParams.get('app'), 'app_1');
  assert.equal(sw.searchParams.get('server'), HERALD);
  assert.equal(win.Notification.calls, 1, 'permission was asked once');
  assert.equal(pm.calls.length, 1);
  assert.equal(pm.calls[0].userVisibleOnly, true);
  assert.deepEqual([...pm.calls[0].applicationServerKey], [...Herald._internals.urlBase64ToUint8Array(VAPID)]);
  const post = herald.last('POST', '/sdk/v1/subscribers');
  assert.equal(post.query.app, 'app_1');
  assert.equal(post.headers['Content-Type'], 'application/json');
  assert.equal(post.init.credentials, 'omit');
  assert.deepEqual(post.body.subscription, pm.current.toJSON() && {endpoint: pm.current.endpoint, keys: pm.current.keys});
  assert.equal(post.body.type, 'webpush');
  assert.deepEqual(post.body.tags, ['news']);
  assert.equal(post.body.alias, 'user-9');
  assert.equal(post.body.language, 'fa-IR', 'defaults to navigator.language');
  assert.equal(post.body.timezone, Intl.DateTimeFormat().resolvedOptions().timeZone);
  assert.equal(post.body.replaces, undefined);
  assert.equal(await Herald.getRegistrationId(), 'r_1');

  // Again: the same subscription, no new prompt, language left as it is.
  assert.equal(await Herald.subscribe(), 'r_2');
  assert.equal(pm.calls.length, 1, 'no second pushManager.subscribe');
  const again = herald.last('POST', '/sdk/v1/subscribers');
  assert.equal(again.body.language, undefined);
  assert.equal(again.body.replaces, undefined, 'same endpoint: nothing to replace');
});

test('subscribe: permission refused is an error, and nothing is registered', async () => {
  const {Herald, herald, pm} = loadPage({permission: 'denied', form: 'promise'});
  Herald.init({app: 'app_1', server: HERALD});
  await rejectsWith(Herald.subscribe(), 'permission-denied', 'Permission denied');
  assert.equal(pm.calls.length, 0);
  assert.equal(herald.count('POST', '/sdk/v1/subscribers'), 0);
});

test('subscribe: an unknown app says so', async () => {
  const {Herald, herald} = loadPage();
  herald.routes['GET /sdk/config'] = (req, json) => json(404, {error: {code: 'not_found', message: 'app app_x not found'}});
  Herald.init({app: 'app_x', server: HERALD});
  await rejectsWith(Herald.subscribe(), 'unknown-app', 'app_x');
});

test('refresh: resubscribes when the app\'s VAPID key changed, and replaces the old registration', async () => {
  const idb = fakeIndexedDB();
  const {Herald, herald, pm} = loadPage({idb});
  Herald.init({app: 'app_1', server: HERALD});
  await Herald.subscribe({tags: ['t']});
  const first = pm.current;
  assert.equal(await Herald.refresh(), 'r_1', 'nothing changed: no new registration');
  assert.equal(herald.count('POST', '/sdk/v1/subscribers'), 1);

  herald.vapid = VAPID2; // the operator rotated the app's VAPID key
  const page2 = loadPage({idb, herald});
  page2.pm.current = first; // the browser still has the old subscription
  page2.win.Notification.permission = 'granted'; // granted on the first visit
  page2.Herald.init({app: 'app_1', server: HERALD});
  assert.equal(await page2.Herald.ready, 'r_2');
  assert.equal(first.unsubscribed, true, 'the old subscription was dropped');
  assert.deepEqual([...page2.pm.calls[0].applicationServerKey], [...Herald._internals.urlBase64ToUint8Array(VAPID2)]);
  const post = herald.last('POST', '/sdk/v1/subscribers');
  assert.deepEqual(post.body.replaces, {registration_id: 'r_1', device_key: 'dk-r_1'});
  assert.equal(post.body.tags, undefined, 'tags carry over on the server');
});

test('refresh: tells Herald when the endpoint or keys changed', async () => {
  const idb = fakeIndexedDB();
  const {Herald, herald, pm} = loadPage({idb});
  Herald.init({app: 'app_1', server: HERALD});
  await Herald.subscribe();
  pm.current = fakeSubscription(Herald._internals.urlBase64ToUint8Array(VAPID)); // the browser renewed it
  assert.equal(await Herald.refresh(), 'r_2');
  assert.deepEqual(herald.last('POST', '/sdk/v1/subscribers').body.replaces, {registration_id: 'r_1', device_key: 'dk-r_1'});
  pm.current.keys = {p256dh: 'new', auth: 'new'};
  assert.equal(await Herald.refresh(), 'r_3');
  assert.equal(herald.last('POST', '/sdk/v1/subscribers').body.replaces, undefined, 'same endpoint: updated in place');
});

test('refresh never prompts', async () => {
  const {Herald, win} = loadPage({permission: 'granted'});
  win.Notification.permission = 'default';
  Herald.init({app: 'app_1', server: HERALD});
  assert.equal(await Herald.ready, null);
  assert.equal(win.Notification.calls, 0);
});

test('setters send the device key and change this registration only', async () => {
  const {Herald, herald} = loadPage();
  Herald.init({app: 'app_1', server: HERALD});
  await rejectsWith(Herald.setTags(['a']), 'not-subscribed');
  await Herald.subscribe();
  const patch = () => herald.last('PATCH', '/sdk/v1/subscribers/r_1');
  await Herald.setTags(['a', 'b']);
  assert.deepEqual(patch().body, {tags: ['a', 'b']});
  assert.equal(patch().headers['X-Herald-Device-Key'], 'dk-r_1');
  assert.equal(patch().query.app, 'app_1');
  await Herald.addTags('c');
  assert.deepEqual(patch().body, {tags_add: ['c']});
  await Herald.removeTags(['a']);
  assert.deepEqual(patch().body, {tags_remove: ['a']});
  await Herald.setAlias('u1');
  assert.deepEqual(patch().body, {alias: 'u1'});
  await Herald.setAlias(null);
  assert.deepEqual(patch().body, {alias: ''});
  await Herald.setLanguage();
  assert.deepEqual(patch().body, {language: 'fa-IR'});
  await Herald.setLanguage('en');
  assert.deepEqual(patch().body, {language: 'en'});
  await Herald.setTimezone();
  assert.deepEqual(patch().body, {timezone: Intl.DateTimeFormat().resolvedOptions().timeZone});
  await assert.rejects(Herald.setTags([1]), (e) => e.code === 'bad-argument');

  herald.routes['PATCH /sdk/v1/subscribers/r_1'] = (req, json) => json(403, {error: {code: 'forbidden', message: 'the device key does not belong'}});
  await rejectsWith(Herald.setAlias('x'), 'forbidden', 'device key');
  herald.routes['PATCH /sdk/v1/subscribers/r_1'] = (req, json) => json(404, {error: {code: 'not_found', message: 'subscriber not found'}});
  await rejectsWith(Herald.setAlias('x'), 'not-subscribed', 'subscribe() again');
  assert.equal(await Herald.getRegistrationId(), null, 'the stale registration was forgotten');
});

test('unsubscribe drops the subscription and the registration', async () => {
  const {Herald, herald, pm} = loadPage();
  Herald.init({app: 'app_1', server: HERALD});
  await Herald.subscribe();
  await Herald.unsubscribe();
  assert.equal(pm.current.unsubscribed, true);
  const del = herald.last('DELETE', '/sdk/v1/subscribers/r_1');
  assert.equal(del.headers['X-Herald-Device-Key'], 'dk-r_1');
  assert.equal(await Herald.getRegistrationId(), null);
});

test('messages from the service worker reach Herald.on listeners', async () => {
  const {Herald, win} = loadPage();
  Herald.init({app: 'app_1', server: HERALD});
  const got = [];
  const off = Herald.on('data', (m) => got.push(m));
  Herald.on('clicked', (m) => got.push(m));
  win.navigator.serviceWorker.post({herald: 'data', message_id: '5', data: {a: 1}});
  win.navigator.serviceWorker.post({herald: 'clicked', message_id: '5'});
  win.navigator.serviceWorker.post({something: 'else'});
  off();
  win.navigator.serviceWorker.post({herald: 'data', message_id: '6'});
  assert.deepEqual(got.map((m) => m.herald + ':' + m.message_id), ['data:5', 'clicked:5']);
  assert.throws(() => Herald.on('nope', () => {}), (e) => e.code === 'bad-argument');
});

test('getNotificationToken in a plain browser is the Web Push registration id', async () => {
  const {Herald, win} = loadPage();
  await rejectsWith(win.getNotificationToken(), 'not-initialised');
  Herald.init({app: 'app_1', server: HERALD});
  assert.deepEqual(plain(await win.getNotificationToken()), {token: 'r_1', platform: 'webpush', registration_id: 'r_1'});
});

test('getNotificationToken in a native wrapper', async (t) => {
  const bridge = (getToken) => ({getToken});
  await t.test('registers the native token with Herald', async () => {
    const {Herald, herald, win} = loadPage({native: bridge(async () => ({token: 'fcm-token-1', platform: 'fcm'}))});
    Herald.init({app: 'app_1', server: HERALD});
    assert.deepEqual(plain(await win.getNotificationToken()), {token: 'fcm-token-1', platform: 'fcm', registration_id: 'r_1'});
    const post = herald.last('POST', '/sdk/v1/subscribers');
    assert.equal(post.body.type, 'fcm');
    assert.equal(post.body.token, 'fcm-token-1');
    assert.equal(post.body.subscription, undefined);
    await Herald.setTags(['app']);
    assert.equal(herald.last('PATCH', '/sdk/v1/subscribers/r_1').headers['X-Herald-Device-Key'], 'dk-r_1');
  });
  await t.test('a new token replaces the old one', async () => {
    let token = 'apns-1';
    const {Herald, herald} = loadPage({native: bridge(async () => ({token, platform: 'apns'}))});
    Herald.init({app: 'app_1', server: HERALD});
    await Herald.getNotificationToken();
    token = 'apns-2';
    await Herald.getNotificationToken();
    assert.deepEqual(herald.last('POST', '/sdk/v1/subscribers').body.replaces, {registration_id: 'r_1', device_key: 'dk-r_1'});
  });
  await t.test('without Herald.init the token is returned as it is', async () => {
    const {win, herald} = loadPage({native: bridge(async () => ({token: 't', platform: 'fcm'}))});
    assert.deepEqual(plain(await win.getNotificationToken()), {token: 't', platform: 'fcm'});
    assert.equal(herald.requests.length, 0);
  });
  await t.test('the bridge becomes ready later', async () => {
    const {Herald, win} = loadPage({userAgent: 'Mozilla/5.0 HeraldNative/1'});
    Herald.init({app: 'app_1', server: HERALD});
    const p = win.getNotificationToken();
    setTimeout(() => {
      win.HeraldNative = bridge(async () => ({token: 'late', platform: 'fcm'}));
      win.dispatchEvent(new Event('heraldnativeready'));
    }, 1);
    assert.equal((await p).token, 'late');
  });
  // The three failures webtoapp's document lists.
  await t.test('native code unreachable: the bridge never becomes ready', async () => {
    const {Herald} = loadPage({userAgent: 'Mozilla/5.0 HeraldNative/1', maxDelay: 1});
    Herald.init({app: 'app_1', server: HERALD});
    await rejectsWith(Herald.getNotificationToken(), 'native-unreachable', 'native code');
  });
  await t.test('native code unreachable: getToken throws', async () => {
    const {Herald} = loadPage({native: bridge(() => {
      throw new TypeError('bridge gone');
    })});
    await rejectsWith(Herald.getNotificationToken(), 'native-unreachable', 'bridge gone');
  });
  await t.test('native code unreachable: an unknown platform', async () => {
    const {Herald} = loadPage({native: bridge(async () => ({token: 't', platform: 'sms'}))});
    await rejectsWith(Herald.getNotificationToken(), 'native-unreachable', 'fcm or apns');
  });
  for (const [name, getToken] of [
    ['rejects unavailable', async () => Promise.reject(Object.assign(new Error('offline'), {code: 'unavailable'}))],
    ['rejects without a code', async () => Promise.reject(new Error('timeout'))],
    ['answers no token', async () => ({platform: 'fcm'})],
    ['answers nothing', async () => undefined],
  ]) {
    await t.test('token unobtainable: ' + name, async () => {
      const {Herald} = loadPage({native: bridge(getToken)});
      Herald.init({app: 'app_1', server: HERALD});
      await rejectsWith(Herald.getNotificationToken(), 'token-unavailable', 'could not be obtained');
    });
  }
  await t.test('token unobtainable: Herald unreachable', async () => {
    const {Herald, herald} = loadPage({native: bridge(async () => ({token: 't', platform: 'fcm'}))});
    herald.routes['GET /sdk/config'] = () => Promise.reject(new TypeError('NetworkError'));
    Herald.init({app: 'app_1', server: HERALD});
    await rejectsWith(Herald.getNotificationToken(), 'token-unavailable', 'online');
  });
  await t.test('push not in the plan: the app says so', async () => {
    const {Herald} = loadPage({native: bridge(async () => Promise.reject(Object.assign(new Error('no push'), {code: 'not-enabled'})))});
    await rejectsWith(Herald.getNotificationToken(), 'push-not-enabled', 'push is not enabled for this app');
  });
  await t.test('push not in the plan: Herald has no credentials for the channel', async () => {
    const {Herald, herald} = loadPage({native: bridge(async () => ({token: 't', platform: 'apns'}))});
    herald.channels.apns = false;
    Herald.init({app: 'app_1', server: HERALD});
    await rejectsWith(Herald.getNotificationToken(), 'push-not-enabled', 'push is not enabled for this app');
    assert.equal(herald.count('POST', '/sdk/v1/subscribers'), 0);
  });
  await t.test('push not in the plan: Herald refuses the registration', async () => {
    const {Herald, herald} = loadPage({native: bridge(async () => ({token: 't', platform: 'fcm'}))});
    herald.routes['POST /sdk/v1/subscribers'] = (req, json) => json(403, {error: {code: 'push_not_enabled', message: 'push is not enabled for this app: it has no fcm credentials'}});
    Herald.init({app: 'app_1', server: HERALD});
    await rejectsWith(Herald.getNotificationToken(), 'push-not-enabled', 'push is not enabled for this app');
  });
});

test('executeWhenAppReady', async (t) => {
  await t.test('plain browser: fn does not run, and nothing throws', async () => {
    const {win} = loadPage();
    let ran = false;
    assert.equal(await vm.runInContext('executeWhenAppReady', win)(() => (ran = true)), false);
    assert.equal(ran, false);
  });
  await t.test('plain browser with {browser: true}: fn runs', async () => {
    const {win} = loadPage();
    let ran = false;
    assert.equal(await win.executeWhenAppReady(() => (ran = true), {browser: true}), true);
    assert.equal(ran, true);
  });
  await t.test('bridge ready: fn runs at once', async () => {
    const {win} = loadPage({native: {getToken: async () => ({})}});
    let ran = false;
    assert.equal(await win.executeWhenAppReady(async () => (ran = true)), true);
    assert.equal(ran, true);
  });
  await t.test('wrapper not ready yet: fn waits for heraldnativeready', async () => {
    const {win} = loadPage({userAgent: 'Mozilla/5.0 (Linux; Android 14) HeraldNative/1'});
    let ran = false;
    const p = win.executeWhenAppReady(() => (ran = true));
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(ran, false);
    win.dispatchEvent(new Event('heraldnativeready')); // no bridge yet: keeps waiting
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(ran, false);
    win.HeraldNative = {getToken: async () => ({})};
    win.dispatchEvent(new Event('heraldnativeready'));
    assert.equal(await p, true);
    assert.equal(ran, true);
  });
  await t.test('fn\'s error is the promise\'s', async () => {
    const {win} = loadPage({native: {getToken: async () => ({})}});
    await assert.rejects(win.executeWhenAppReady(() => {
      throw new Error('site bug');
    }), /site bug/);
  });
  await t.test('not a function', async () => {
    const {win} = loadPage();
    await rejectsWith(win.executeWhenAppReady('x'), 'bad-argument');
  });
});

test('loading herald.js leaves no trace of its parts on the page', () => {
  const {win} = loadPage();
  assert.equal(vm.runInContext('typeof __heraldParts', win), 'undefined');
  assert.equal(vm.runInContext('typeof Herald._internals.checkTags', win), 'function');
});
