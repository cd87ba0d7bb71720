// Package guide serves the browser Push API guide's server endpoints
// (POST /api/subscription, and POST /api/push once delivery is wired) with
// exactly the answers the guide's client expects: {"data":{"success":true}}
// or {"error":{"id","message"}}.
//
// The guide has no notion of apps, so the request names one with the query
// parameter ?app=<app id> or the header X-Herald-App: <app id>; without
// either, the server's default app (herald serve --default-app) is used.
// The app id is not a secret: like the guide's own endpoint, subscribing
// is open to any browser, and what it stores is only a subscription.
//
// Safe for concurrent use.
package guide
