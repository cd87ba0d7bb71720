// Verifies VAPID JWTs with jose: ES256, the key given as a raw uncompressed
// P-256 point, audience and subject checked, exp required. Case: { token,
// publicKey, audience, subject } -> { header, payload }.
import { importJWK, jwtVerify } from 'jose';
import { fromB64, run, toB64 } from './lib.js';

await run(async (c) => {
  const point = fromB64(c.publicKey);
  if (point.length !== 65 || point[0] !== 4) {
    throw new Error('public key is not an uncompressed P-256 point');
  }
  const key = await importJWK(
    { kty: 'EC', crv: 'P-256', x: toB64(point.subarray(1, 33)), y: toB64(point.subarray(33)) },
    'ES256',
  );
  const { payload, protectedHeader } = await jwtVerify(c.token, key, {
    algorithms: ['ES256'],
    typ: 'JWT',
    audience: c.audience,
    subject: c.subject,
    requiredClaims: ['aud', 'exp', 'sub'],
  });
  return { header: protectedHeader, payload };
});
