import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeHeadFrame, END, FrameType } from './codec.js';
import { ResponseHeads } from './response-heads.js';

const payloadOf = (fields: string[], body = ''): Buffer => encodeHeadFrame(FrameType.response | END, 1, fields, body).subarray(9);

test('the same head again: the same headers, in a new array each time', () => {
  const heads = new ResponseHeads();
  const p = payloadOf(['200', 'content-type', 'text/plain', 'Content-Length', '99'], 'hi');
  const first = heads.decode(p, true);
  assert.equal(heads.status, 200);
  assert.deepEqual(first, ['content-type', 'text/plain'], "a complete body: the function's Content-Length is dropped");
  assert.equal(p.subarray(heads.bodyAt).toString(), 'hi');
  first.push('x-request-id', 'a');
  const again = heads.decode(payloadOf(['200', 'content-type', 'text/plain', 'Content-Length', '99'], 'other'), true);
  assert.deepEqual(again, ['content-type', 'text/plain'], 'what a caller added to an earlier list is not in the next');
  assert.notEqual(again, first);
  // Not complete (a streamed body): the function's framing is kept for the gateway to judge.
  assert.deepEqual(heads.decode(p, false), ['content-type', 'text/plain', 'Content-Length', '99']);
});

test('a different head is decoded: status, names, values and length all count', () => {
  const heads = new ResponseHeads();
  heads.decode(payloadOf(['200', 'x-a', 'b']), true);
  assert.deepEqual(heads.decode(payloadOf(['201', 'x-a', 'b']), true), ['x-a', 'b']);
  assert.equal(heads.status, 201);
  assert.deepEqual(heads.decode(payloadOf(['201', 'x-a', 'c']), true), ['x-a', 'c']);
  assert.deepEqual(heads.decode(payloadOf(['201', 'x-a', 'cc']), true), ['x-a', 'cc']);
  assert.deepEqual(heads.decode(payloadOf(['204', 'x-a', 'cc', 'content-length', '0']), true), ['x-a', 'cc', 'content-length', '0'], 'bodiless: left as sent');
  assert.equal(heads.status, 204);
});

test('a status that is no HTTP status is 502; a long head is decoded every time', () => {
  const heads = new ResponseHeads();
  heads.decode(payloadOf(['abc']), true);
  assert.equal(heads.status, 502);
  heads.decode(payloadOf(['1000']), true);
  assert.equal(heads.status, 502);
  const long = payloadOf(['200', 'x-long', 'v'.repeat(5000)]);
  assert.deepEqual(heads.decode(long, true), ['x-long', 'v'.repeat(5000)]);
  assert.deepEqual(heads.decode(payloadOf(['200', 'x-long', 'w'.repeat(5000)]), true), ['x-long', 'w'.repeat(5000)]);
  assert.deepEqual(heads.decode(payloadOf(['200', 'x-long', 'w'.repeat(5000)]), true), ['x-long', 'w'.repeat(5000)]);
});
