import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { serverSettings } from './options.js';

const doc = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
const rows = new Map<string, string>();
for (const m of doc.matchAll(/^\| `(--[a-z-]+)` \| `([A-Z_]+)` \|/gm)) rows.set(m[1]!, m[2]!);

test('docs/configuration.md lists every setting with its environment variable', () => {
  for (const s of serverSettings) assert.equal(rows.get(s.flag), s.env, `${s.flag} should be documented with ${s.env}`);
});

test('docs/configuration.md lists no setting the server lacks', () => {
  const flags = new Set(serverSettings.map((s) => s.flag));
  for (const flag of rows.keys()) assert.ok(flags.has(flag), `${flag} is documented but not a setting`);
});
