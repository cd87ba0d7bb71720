// The site's own service worker: a same-origin file (as a service worker
// must be) that imports Herald's from Herald. herald.js registered it as
// /herald-sw.js?app=…&server=…, where both scripts find their settings.
// (Herald's port changes from run to run, so the import takes it from the
// query; a real site spells its Herald's URL out: see examples/site.)
importScripts(new URL(self.location).searchParams.get('server') + '/sdk/herald-sw.js');

// Test hook. A script cannot fire a trusted notificationclick, and a
// synthetic one's waitUntil throws, so the test clicks through the handler
// herald-sw.js runs on a real click: HeraldSW.handleClick(notification).
// Opening a window outside a real click is refused, and handleClick still
// reports the click; that is what the test checks.
const post = (path, body) => fetch(path, {method: 'POST', body});

self.addEventListener('message', event => {
  if (!event.data || event.data.test !== 'click') return;
  event.waitUntil((async () => {
    const shown = await self.registration.getNotifications();
    const n = shown.find(n => n.data && String(n.data.id) === String(event.data.message_id));
    if (!n) throw new Error('no notification of message ' + event.data.message_id + ' is showing');
    const reported = await self.HeraldSW.handleClick(n, '');
    const left = (await self.registration.getNotifications()).map(n => n.title);
    await post('/clicked', JSON.stringify({title: n.title, url: n.data.url, reported, showing: left}));
  })().catch(e => post('/error', 'service worker: click: ' + e)));
});
