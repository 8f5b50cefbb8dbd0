import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CredentialHeaders, type StoredRequest } from '../../core/index.js';
import { FileKeys } from '../../store/sqlite/keys.js';
import { RequestCredentials } from './credentials.js';

const request = (headers: string[]): StoredRequest => ({ method: 'POST', path: '/', headers, body: Buffer.from('b') });

test('sealed: the stored headers say [redacted]; opened: the run gets the real values back', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-creds-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const creds = new RequestCredentials(new FileKeys(dir), new CredentialHeaders(['x-tenant-pass']));
  const sent = request(['content-type', 'text/plain', 'authorization', 'Basic abc', 'x-api-key', 'k-1', 'X-Tenant-Pass', 'p-1', 'x-plain', 'seen']);
  const stored = await creds.seal('e1', 'fn', sent);
  assert.deepEqual(stored.headers, ['content-type', 'text/plain', 'authorization', '[redacted]', 'x-api-key', '[redacted]', 'X-Tenant-Pass', '[redacted]', 'x-plain', 'seen']);
  assert.ok(stored.sealedCredentials && stored.sealedCredentials.length > 28);
  for (const v of ['Basic abc', 'k-1', 'p-1']) assert.ok(!stored.sealedCredentials.includes(v), `${v} sealed, not in clear`);
  const opened = await creds.open('e1', 'fn', stored);
  assert.deepEqual(opened.headers, sent.headers);
  // Bound to its execution: the sealed values of one do not open as another's.
  await assert.rejects(creds.open('e2', 'fn', stored), /cannot be opened/);
});

test('a request without credential headers is stored as it came', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-creds-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const creds = new RequestCredentials(new FileKeys(dir), new CredentialHeaders());
  const plain = request(['content-type', 'text/plain']);
  assert.equal(await creds.seal('e1', 'fn', plain), plain);
  assert.equal(await creds.open('e1', 'fn', plain), plain);
});
