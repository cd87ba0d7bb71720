// This site's service worker. A service worker must be a file on the site's
// own origin (and it can only control pages under its own path, so it sits
// at the root), which is why the site serves this file instead of
// registering Herald's directly. All it does is import Herald's worker.
//
// Put your Herald's URL here, spelled out: never take it from the query
// string or the page, or a script injected into your site could point your
// worker at code of its choosing. It must be the server index.html uses.
importScripts('http://127.0.0.1:8080/sdk/herald-sw.js');

// Your own push, fetch or cache handlers can follow; Herald's only handle
// push, notificationclick and pushsubscriptionchange.
