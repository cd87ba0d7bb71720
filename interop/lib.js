// Shared plumbing for the interop scripts: the Go tests in
// internal/webpush send one JSON document on stdin and read one JSON
// document from stdout. Binary values travel as unpadded base64url.
import { readFileSync } from 'node:fs';

export function readInput() {
  return JSON.parse(readFileSync(0, 'utf8'));
}

export function writeOutput(value) {
  process.stdout.write(JSON.stringify(value) + '\n');
}

export function fromB64(s) {
  return Buffer.from(s, 'base64url');
}

export function toB64(b) {
  return Buffer.from(b).toString('base64url');
}

// run applies fn to every case and reports each failure as data, so one
// bad case does not hide the others and the Go test can expect failures.
export async function run(fn) {
  const input = readInput();
  const results = [];
  for (const c of input.cases) {
    try {
      results.push({ ok: true, ...(await fn(c)) });
    } catch (err) {
      results.push({ ok: false, error: String(err && err.message ? err.message : err) });
    }
  }
  writeOutput({ results });
}
