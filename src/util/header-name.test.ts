import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isHeaderName } from './header-name.js';

test('header names compare without regard to ASCII case, and nothing else', () => {
  assert.ok(isHeaderName('Content-Length', 'content-length'));
  assert.ok(isHeaderName('X-REQUEST-ID', 'x-request-id'));
  assert.ok(isHeaderName('te', 'te'));
  assert.ok(!isHeaderName('Content-Lengthx', 'content-length'), 'another length');
  assert.ok(!isHeaderName('Cache-Control', 'authorization'), 'same length, another name');
  assert.ok(!isHeaderName('x\rrequest-id', 'x-request-id'), 'no folding but of letters');
  assert.ok(!isHeaderName('prefeR\u0130', 'prefer\u0069'), 'no Unicode folding');
});
