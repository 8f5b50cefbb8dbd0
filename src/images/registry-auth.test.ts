import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseChallenge } from './registry-auth.js';
import { RegistryCredentials } from './registry-credentials.js';

test('WWW-Authenticate: Basic, and Bearer with quoted parameters', () => {
  assert.deepEqual(parseChallenge('Basic realm="Registry"'), { scheme: 'basic' });
  assert.deepEqual(parseChallenge('Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push"'), {
    scheme: 'bearer', realm: 'https://auth.example.com/token', service: 'registry.example.com', scope: 'repository:a/b:pull,push',
  });
  assert.equal(parseChallenge('Bearer service="x"'), undefined, 'a Bearer challenge without a realm');
  assert.equal(parseChallenge('Negotiate abc'), undefined);
  assert.equal(parseChallenge(undefined), undefined);
});

test("the credentials file: Docker's auths, owner-only, and its errors name no secret", () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-auths-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ auths: { 'R.example.com:5000': { auth: Buffer.from('u:p:with:colons').toString('base64') }, 'https://old.example.com/v1/': { username: 'o', password: 'q' } } }), { mode: 0o600 });
  const c = RegistryCredentials.load(file);
  assert.deepEqual(c.for('r.example.com:5000'), { username: 'u', password: 'p:with:colons' });
  assert.deepEqual(c.for('old.example.com'), { username: 'o', password: 'q' });
  assert.equal(c.for('other.example.com'), undefined);

  chmodSync(file, 0o640);
  assert.throws(() => RegistryCredentials.load(file), /readable by others \(mode 640\)/);
  writeFileSync(file, JSON.stringify({ auths: { 'r.io': { auth: Buffer.from('no-colon-secret').toString('base64') } } }), { mode: 0o600 });
  chmodSync(file, 0o600);
  assert.throws(() => RegistryCredentials.load(file), (e: Error) => /the entry for "r.io" has no "auth"/.test(e.message) && !e.message.includes('no-colon-secret'));
  writeFileSync(file, '{"nope": 1}');
  assert.throws(() => RegistryCredentials.load(file), /no "auths" object/);
});
