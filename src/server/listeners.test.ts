import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkBase } from './listeners.js';

test('linkBase: a listener on a named address is its own base; a wildcard one takes the caller\'s host name', () => {
  assert.equal(linkBase('http://127.0.0.1:9000', 'ferry.example:8080'), 'http://127.0.0.1:9000');
  assert.equal(linkBase('http://0.0.0.0:9000', 'ferry.example:8080'), 'http://ferry.example:9000');
  assert.equal(linkBase('http://[::]:9000', '[2001:db8::1]:8080'), 'http://[2001:db8::1]:9000');
  assert.equal(linkBase('http://0.0.0.0:9000', 'not a host'), 'http://0.0.0.0:9000');
});
