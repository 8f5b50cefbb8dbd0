import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CredentialHeaders, redactedValue } from './credential-headers.js';

test('the defaults: the usual credential headers and names ending in -token, -secret, -key, any case', () => {
  const c = new CredentialHeaders();
  for (const name of ['Authorization', 'proxy-authorization', 'Cookie', 'X-Api-Key', 'x-task-token', 'X-Amz-Security-Token', 'x-client-secret', 'x-goog-api-key']) assert.ok(c.matches(name), name);
  for (const name of ['content-type', 'x-plain', 'accept', 'user-agent', 'x-request-id', 'keyboard', 'tokenizer']) assert.ok(!c.matches(name), name);
});

test('configured patterns add names, suffixes and prefixes', () => {
  const c = new CredentialHeaders(['X-Tenant-Pass', '*-pin', 'x-acme-*']);
  for (const name of ['x-tenant-pass', 'x-card-pin', 'x-acme-anything']) assert.ok(c.matches(name), name);
  assert.ok(!c.matches('x-tenant'));
  assert.throws(() => new CredentialHeaders(['*']), /not a header name/);
});

test('redact replaces the values and keeps the names, order and other headers', () => {
  const c = new CredentialHeaders();
  const flat = ['Content-Type', 'text/plain', 'X-Api-Key', 'k1', 'cookie', 'a=1', 'cookie', 'b=2', 'x-plain', 'seen'];
  assert.deepEqual(c.redact(flat), ['Content-Type', 'text/plain', 'X-Api-Key', redactedValue, 'cookie', redactedValue, 'cookie', redactedValue, 'x-plain', 'seen']);
  assert.equal(flat[3], 'k1', 'the input is not changed');
});
