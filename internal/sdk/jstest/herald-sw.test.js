// Unit tests of herald-sw.js against fakes of the service worker global
// and of Herald. Run: node --test internal/sdk/jstest/
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const {HERALD, SITE, VAPID, fakeIndexedDB, fakeSubscription, loadPage, loadWorker, fakePage, pushData} = require('./fakes.js');

const plain = (v) => JSON.parse(JSON.stringify(v));

const payload = {
  id: '42', title: 'Hello', body: 'World', url: '/articles/7', icon: 'https://cdn.example/i.png',
  image: 'https://cdn.example/big.png', tag: 'news', extras: {k: 'v'}, rid: 'r_1', sig: 'sig-1',
};

test('settings come from the registration URL, or self.HERALD', () => {
  assert.deepEqual(plain(loadWorker().self.HeraldSW.config), {app: 'app_1', server: HERALD});
  const w = loadWorker({url: SITE + '/sw.js', HERALD: {app: 'app_9', server: HERALD + '/'}});
  assert.deepEqual(plain(w.self.HeraldSW.config), {app: 'app_9', server: HERALD});
});

test('push: shows the notification and reports received', async () => {
  const page = fakePage(SITE + '/');
  const w = loadWorker({pages: [page]});
  const res = await w.fire('push', {data: pushData(payload)});
  assert.equal(res.shown, true);
  assert.equal(res.reported, true);
  assert.equal(w.shown.length, 1);
  const {title, options} = w.shown[0];
  assert.equal(title, 'Hello');
  assert.equal(options.body, 'World');
  assert.equal(options.icon, payload.icon);
  assert.equal(options.image, payload.image);
  assert.equal(options.tag, 'news');
  assert.equal(options.renotify, true);
  assert.equal(options.data.url, '/articles/7');
  assert.equal(options.data.rid, 'r_1');
  const ev = w.herald.last('POST', '/sdk/v1/events');
  assert.equal(ev.query.app, 'app_1');
  assert.deepEqual(ev.body, {type: 'received', message_id: '42', rid: 'r_1', sig: 'sig-1'});
  assert.match(ev.headers['Content-Type'], /^text\/plain/, 'a simple request: no CORS preflight');
  assert.equal(ev.init.credentials, 'omit');
  assert.equal(page.messages.length, 1);
  assert.equal(page.messages[0].herald, 'received');
  assert.equal(page.messages[0].title, 'Hello');
});

test('push: no tag, no renotify', async () => {
  const w = loadWorker();
  await w.fire('push', {data: pushData({id: '1', title: 'T'})});
  assert.equal(w.shown[0].options.tag, undefined);
  assert.equal(w.shown[0].options.renotify, undefined);
});

test('push: a data message goes to open pages, not on screen', async () => {
  const pages = [fakePage(SITE + '/a'), fakePage(SITE + '/b')];
  const w = loadWorker({pages});
  const res = await w.fire('push', {data: pushData({id: '7', data: {score: 3}, extras: {x: 1}, rid: 'r_1', sig: 's'})});
  assert.equal(res.shown, false);
  assert.equal(res.pages, 2);
  assert.equal(w.shown.length, 0);
  for (const p of pages) assert.deepEqual(plain(p.messages), [{herald: 'data', message_id: '7', data: {score: 3}, extras: {x: 1}}]);
  assert.equal(w.herald.last('POST', '/sdk/v1/events').body.type, 'received');
});

test('push: a payload without rid and sig is shown but not reported', async () => {
  const w = loadWorker();
  const res = await w.fire('push', {data: pushData({id: '1', title: 'T'})});
  assert.equal(res.reported, false);
  assert.equal(w.herald.count('POST', '/sdk/v1/events'), 0);
});

test('push: text that is not JSON is shown as the body', async () => {
  const w = loadWorker();
  await w.fire('push', {data: pushData('plain text')});
  assert.equal(w.shown[0].options.body, 'plain text');
});

test('push: a refused report does not fail the push', async () => {
  const w = loadWorker();
  w.herald.routes['POST /sdk/v1/events'] = (req, json) => json(403, {error: {code: 'forbidden'}});
  const res = await w.fire('push', {data: pushData(payload)});
  assert.equal(res.shown, true);
  assert.equal(res.reported, false);
  w.herald.routes['POST /sdk/v1/events'] = () => Promise.reject(new TypeError('offline'));
  assert.equal((await w.fire('push', {data: pushData(payload)})).reported, false);
});

test('notificationclick: closes, reports clicked, opens the URL', async () => {
  const page = fakePage(SITE + '/');
  const w = loadWorker({pages: [page]});
  await w.fire('push', {data: pushData(payload)});
  let closed = 0;
  const notification = {title: 'Hello', data: w.shown[0].options.data, close: () => closed++};
  const reported = await w.fire('notificationclick', {notification, action: ''});
  assert.equal(reported, true);
  assert.equal(closed, 1);
  assert.deepEqual(w.herald.last('POST', '/sdk/v1/events').body, {type: 'clicked', message_id: '42', rid: 'r_1', sig: 'sig-1'});
  assert.deepEqual(w.opened, [SITE + '/articles/7']);
  assert.equal(page.messages.at(-1).herald, 'clicked');
  assert.equal(page.messages.at(-1).url, SITE + '/articles/7');
});

test('notificationclick: focuses a page already at the URL', async () => {
  const page = fakePage(SITE + '/articles/7');
  const w = loadWorker({pages: [page]});
  await w.self.HeraldSW.handleClick({data: {url: '/articles/7', id: '1', rid: 'r', sig: 's'}, close() {}}, 'open');
  assert.equal(page.focused, 1);
  assert.deepEqual(w.opened, []);
  assert.equal(w.herald.last('POST', '/sdk/v1/events').body.action, 'open');
});

test('notificationclick: no URL brings the site forward', async () => {
  const none = loadWorker();
  await none.self.HeraldSW.handleClick({data: {}, close() {}});
  assert.deepEqual(none.opened, [SITE + '/']);
  const page = fakePage(SITE + '/somewhere');
  const open = loadWorker({pages: [page]});
  await open.self.HeraldSW.handleClick({data: {}, close() {}});
  assert.equal(page.focused, 1);
});

test('notificationclick: a refused window still reports', async () => {
  const w = loadWorker();
  w.self.clients.openWindow = () => Promise.reject(new Error('InvalidAccessError'));
  assert.equal(await w.self.HeraldSW.handleClick({data: {url: '/x', id: '1', rid: 'r', sig: 's'}, close() {}}), true);
});

test('pushsubscriptionchange: re-registers, replacing what the page registered', async () => {
  const idb = fakeIndexedDB();
  const page = loadPage({idb});
  page.Herald.init({app: 'app_1', server: HERALD});
  await page.Herald.subscribe({tags: ['t']});
  const w = loadWorker({idb, herald: page.herald});
  const fresh = fakeSubscription(page.Herald._internals.urlBase64ToUint8Array(VAPID));
  const id = await w.fire('pushsubscriptionchange', {oldSubscription: page.pm.current, newSubscription: fresh});
  assert.equal(id, 'r_2');
  const post = page.herald.last('POST', '/sdk/v1/subscribers');
  assert.equal(post.query.app, 'app_1');
  assert.deepEqual(post.body.subscription, {endpoint: fresh.endpoint, keys: fresh.keys});
  assert.deepEqual(post.body.replaces, {registration_id: 'r_1', device_key: 'dk-r_1'});
  // The page now sees the new registration, with nothing to fix.
  assert.equal(await page.Herald.getRegistrationId(), 'r_2');
  page.pm.current = fresh;
  assert.equal(await page.Herald.refresh(), 'r_2');
  assert.equal(page.herald.count('POST', '/sdk/v1/subscribers'), 2);
});

test('pushsubscriptionchange without a new subscription subscribes again with the app\'s key', async () => {
  const w = loadWorker({idb: fakeIndexedDB()});
  const id = await w.fire('pushsubscriptionchange', {});
  assert.equal(id, 'r_1');
  assert.equal(w.pm.calls.length, 1);
  assert.equal(w.pm.calls[0].userVisibleOnly, true);
  assert.equal(w.herald.count('GET', '/sdk/config'), 1, 'the key came from /sdk/config');
  assert.equal(w.herald.last('POST', '/sdk/v1/subscribers').body.replaces, undefined);
});
