// Encrypts with the http_ece package, which splits the payload into as many
// records as the record size demands. Case: { plaintext, uaPublic, auth,
// rs, pad } -> { body }.
import crypto from 'node:crypto';
import ece from 'http_ece';
import { fromB64, run, toB64 } from './lib.js';

await run((c) => {
  const sender = crypto.createECDH('prime256v1');
  sender.generateKeys();
  const body = ece.encrypt(fromB64(c.plaintext), {
    version: 'aes128gcm',
    privateKey: sender,
    dh: c.uaPublic,
    authSecret: c.auth,
    rs: c.rs,
    pad: c.pad,
  });
  return { body: toB64(body) };
});
