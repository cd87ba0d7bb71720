// Builds push requests with web-push's generateRequestDetails, without
// sending them. Case: { subscription, payload, vapid: { subject, publicKey,
// privateKey }, options } -> { method, endpoint, headers, body }.
import webpush from 'web-push';
import { fromB64, run, toB64 } from './lib.js';

await run((c) => {
  const details = webpush.generateRequestDetails(
    c.subscription,
    c.payload ? fromB64(c.payload) : null,
    { ...c.options, vapidDetails: c.vapid },
  );
  const headers = {};
  for (const [k, v] of Object.entries(details.headers)) {
    headers[k] = String(v);
  }
  return {
    method: details.method,
    endpoint: details.endpoint,
    headers,
    body: details.body ? toB64(details.body) : '',
  };
});
