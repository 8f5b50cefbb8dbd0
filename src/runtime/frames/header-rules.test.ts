import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bodiless, dropBodyFraming, hopByHop } from './header-rules.js';

test('hop-by-hop names in any case are never forwarded; look-alikes are', () => {
  for (const n of ['TE', 'te', 'Upgrade', 'Trailer', 'Connection', 'keep-alive', 'Proxy-Connection', 'Transfer-Encoding']) assert.equal(hopByHop(n), true, n);
  for (const n of ['tf', 'upgradf', 'Content-Length', 'x-connection', 'Host', '']) assert.equal(hopByHop(n), false, n);
});

test('an answer without a body: informational, 204 and 304', () => {
  assert.deepEqual([100, 101, 199, 204, 304].map(bodiless), [true, true, true, true, true]);
  assert.deepEqual([200, 201, 205, 301, 404, 500].map(bodiless), [false, false, false, false, false, false]);
});

test("the function's framing headers leave the list in place; the rest keep their order", () => {
  const h = ['Content-Length', '5', 'x-a', '1', 'transfer-encoding', 'chunked', 'X-B', '2', 'CONTENT-LENGTH', '9'];
  dropBodyFraming(h);
  assert.deepEqual(h, ['x-a', '1', 'X-B', '2']);
  const none: string[] = [];
  dropBodyFraming(none);
  assert.deepEqual(none, []);
});
