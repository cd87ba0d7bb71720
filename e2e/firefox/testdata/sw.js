// Shows every push as a notification (a push that shows none spends
// Firefox's push quota) and reports the decrypted payload, with the
// titles of the notifications now showing, to the test.
const post = (path, body) => fetch(path, {method: 'POST', body});

self.addEventListener('push', event => {
  const text = event.data ? event.data.text() : '(no data)';
  event.waitUntil((async () => {
    const p = event.data.json();
    await self.registration.showNotification(p.title, {body: p.body, data: {url: p.url}});
    const shown = (await self.registration.getNotifications()).map(n => n.title);
    await post('/push', JSON.stringify({payload: text, notifications: shown}));
  })().catch(e => post('/error', `service worker: ${e} (payload ${text})`)));
});
