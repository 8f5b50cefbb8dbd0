import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { codes } from './codes.js';

const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
const documented = new Map<string, number>();
for (const m of doc.matchAll(/^\| `([a-z-]+)` \| (\d{3}) \|/gm)) documented.set(m[1]!, Number(m[2]));

test('every registered code is documented with its status', () => {
  for (const [code, { status }] of Object.entries(codes)) {
    assert.equal(documented.get(code), status, `docs/errors.md: ${code} should be listed with status ${status}`);
  }
});

test('docs/errors.md lists no code the registry lacks', () => {
  for (const code of documented.keys()) assert.ok(code in codes, `docs/errors.md lists '${code}', which src/errors/codes.ts does not have`);
});

test('every code maps to an HTTP error status', () => {
  for (const [code, { status }] of Object.entries(codes)) assert.ok(status >= 400 && status < 600, code);
});
