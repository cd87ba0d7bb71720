// Decrypts aes128gcm bodies with the http_ece package, as a browser would.
// Case: { body, uaPrivate, auth } -> { plaintext }.
import crypto from 'node:crypto';
import ece from 'http_ece';
import { fromB64, run, toB64 } from './lib.js';

await run((c) => {
  const ua = crypto.createECDH('prime256v1');
  ua.setPrivateKey(fromB64(c.uaPrivate));
  const plaintext = ece.decrypt(fromB64(c.body), {
    version: 'aes128gcm',
    privateKey: ua,
    authSecret: c.auth,
  });
  return { plaintext: toB64(plaintext) };
});
