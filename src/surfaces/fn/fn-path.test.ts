import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFnPath } from './fn-path.js';

test('/fn paths carry name, ref and the rest of the path', () => {
  assert.deepEqual(parseFnPath('/fn/hello'), { name: 'hello', ref: undefined, path: '/' });
  assert.deepEqual(parseFnPath('/fn/hello/a/b?x=1'), { name: 'hello', ref: undefined, path: '/a/b?x=1' });
  assert.deepEqual(parseFnPath('/fn/hello?x=1'), { name: 'hello', ref: undefined, path: '/?x=1' });
  assert.deepEqual(parseFnPath('/fn/hello@v2/x'), { name: 'hello', ref: 'v2', path: '/x' });
  assert.deepEqual(parseFnPath('/fn/hello@prod'), { name: 'hello', ref: 'prod', path: '/' });
  assert.equal(parseFnPath('/v1/functions'), undefined);
  assert.equal(parseFnPath('/fnord'), undefined);
});
