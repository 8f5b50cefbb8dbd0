import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHost } from './host-name.js';

test('host names route under the domain only', () => {
  assert.deepEqual(parseHost('hello.fn.test:8080', 'fn.test', '/a'), { name: 'hello', ref: undefined, path: '/a' });
  assert.deepEqual(parseHost('v2.hello.fn.test', 'fn.test', '/'), { name: 'hello', ref: 'v2', path: '/' });
  assert.deepEqual(parseHost('PROD.Hello.FN.test', 'fn.test', '/'), { name: 'hello', ref: 'prod', path: '/' });
  assert.equal(parseHost('fn.test', 'fn.test', '/'), undefined);
  assert.equal(parseHost('a.b.c.fn.test', 'fn.test', '/'), undefined);
  assert.equal(parseHost('hello.other.test', 'fn.test', '/'), undefined);
  assert.equal(parseHost('hello.fn.test', undefined, '/'), undefined);
});
