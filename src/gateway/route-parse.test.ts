import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFnPath, parseHost } from './route-parse.js';

test('/fn paths carry name, ref and the rest of the path', () => {
  assert.deepEqual(parseFnPath('/fn/hello'), { name: 'hello', ref: undefined, path: '/' });
  assert.deepEqual(parseFnPath('/fn/hello/a/b?x=1'), { name: 'hello', ref: undefined, path: '/a/b?x=1' });
  assert.deepEqual(parseFnPath('/fn/hello?x=1'), { name: 'hello', ref: undefined, path: '/?x=1' });
  assert.deepEqual(parseFnPath('/fn/hello@v2/x'), { name: 'hello', ref: 'v2', path: '/x' });
  assert.deepEqual(parseFnPath('/fn/hello@prod'), { name: 'hello', ref: 'prod', path: '/' });
  assert.equal(parseFnPath('/v1/functions'), undefined);
  assert.equal(parseFnPath('/fnord'), undefined);
});

test('host names route under the domain only', () => {
  assert.deepEqual(parseHost('hello.fn.test:8080', 'fn.test', '/a'), { name: 'hello', ref: undefined, path: '/a' });
  assert.deepEqual(parseHost('v2.hello.fn.test', 'fn.test', '/'), { name: 'hello', ref: 'v2', path: '/' });
  assert.deepEqual(parseHost('PROD.Hello.FN.test', 'fn.test', '/'), { name: 'hello', ref: 'prod', path: '/' });
  assert.equal(parseHost('fn.test', 'fn.test', '/'), undefined);
  assert.equal(parseHost('a.b.c.fn.test', 'fn.test', '/'), undefined);
  assert.equal(parseHost('hello.other.test', 'fn.test', '/'), undefined);
  assert.equal(parseHost('hello.fn.test', undefined, '/'), undefined);
});
