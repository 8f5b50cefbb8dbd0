// The stand-in Request a handler gets against the real one it becomes: what a handler reads
// through the stand-in (method, url, headers, a whole body) must be what the real Request says.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { IncomingCall, type FrameSink } from '../../shim/incoming-call.js';
import { toRequest } from './request.js';

const sink: FrameSink = { send: () => true, drained: () => Promise.resolve(), finished: () => {} };

function callOf(method: string, path: string, headers: string[], body?: string): IncomingCall {
  const call = new IncomingCall(1, [method, path, 'rid-1', ...headers], sink, body !== undefined);
  if (body !== undefined) call.pushBody(Buffer.from(body));
  call.endBody();
  return call;
}

function entries(h: Headers): string[][] {
  const out: string[][] = [];
  h.forEach((value, name) => out.push([name, value]));
  return out;
}

/** What a handler sees: read through the stand-in first, then the same after it became real. */
async function seen(req: Request, read: 'text' | 'json' | 'arrayBuffer' | 'none'): Promise<unknown> {
  const head = { method: req.method, url: req.url, headers: entries(req.headers), used: req.bodyUsed };
  let body: unknown;
  try {
    body = read === 'none' ? null : await req[read]();
    if (body instanceof ArrayBuffer) body = Buffer.from(body).toString();
  } catch (err) {
    body = { rejected: (err as Error).constructor.name };
  }
  let again: unknown;
  try {
    again = await req.text();
  } catch (err) {
    again = { rejected: (err as Error).constructor.name };
  }
  return { ...head, body, usedAfter: req.bodyUsed, again };
}

const cases: Array<[string, () => IncomingCall, 'text' | 'json' | 'arrayBuffer' | 'none']> = [
  ['a GET', () => callOf('GET', '/a?x=1', ['Host', 'example.test', 'X-Name', 'v', 'x-name', 'w', 'Cookie', 'a=1', 'cookie', 'b=2']), 'text'],
  ['a GET with odd path characters', () => callOf('GET', '/a b/../c?q=ü', ['host', 'h']), 'none'],
  ['no Host', () => callOf('GET', 'x', []), 'text'],
  ['a Host that makes no URL', () => callOf('GET', '/p', ['host', 'bad host']), 'none'],
  ['a POST, read as text', () => callOf('POST', '/p', ['host', 'h', 'content-type', 'text/plain'], 'héllo'), 'text'],
  ['a POST, read as JSON', () => callOf('POST', '/p', ['host', 'h'], '{"a":[1]}'), 'json'],
  ['a POST of bad JSON', () => callOf('POST', '/p', ['host', 'h'], '{'), 'json'],
  ['a POST, read as bytes', () => callOf('PUT', '/p', ['host', 'h'], 'bytes'), 'arrayBuffer'],
  ['an empty POST', () => callOf('POST', '/p', ['host', 'h']), 'text'],
];

describe('the stand-in Request', () => {
  for (const [name, make, read] of cases) {
    test(name, async () => {
      const standIn = await seen(toRequest(make()), read);
      // The real Request: any other property makes the stand-in build it first.
      const real = toRequest(make());
      void real.cache;
      assert.deepEqual(standIn, await seen(real, read));
    });
  }

  test('headers are one object, before and after the real Request exists; changes carry over', async () => {
    const req = toRequest(callOf('POST', '/p', ['host', 'h', 'x-a', '1'], 'body'));
    const h = req.headers;
    h.set('x-b', '2');
    const clone = req.clone(); // builds the real one
    assert.equal(req.headers, h);
    assert.equal(clone.headers.get('x-b'), '2');
    assert.equal(await req.text(), 'body');
    assert.equal(await clone.text(), 'body');
    assert.equal(req.bodyUsed, true);
    assert.ok(req instanceof Request);
    assert.equal(req.signal.aborted, false);
  });
});
