// Ferry's Response against Node's own: every scenario runs on both classes and must be seen the
// same way by a handler (status, headers, body reads, errors), and the shim's fast path must send
// what Node's class would have held.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Response as Ferry, responseParts } from './response.js';

const Native = globalThis.Response;
type AnyResponse = InstanceType<typeof Native>;
type Make = (R: typeof Native) => AnyResponse;

function entries(h: Headers): string[][] {
  const out: string[][] = [];
  h.forEach((value, name) => out.push([name, value]));
  return out;
}

async function drain(body: ReadableStream<Uint8Array>): Promise<string> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value);
  return Buffer.concat(chunks).toString();
}

/** Everything a handler can observe without a stream, or the error it gets. */
async function observe(make: Make, R: typeof Native, read: (r: AnyResponse) => Promise<unknown> = (r) => r.text()): Promise<unknown> {
  let r: AnyResponse;
  try {
    r = make(R);
  } catch (err) {
    return { threw: (err as Error).constructor.name };
  }
  const head = { status: r.status, statusText: r.statusText, ok: r.ok, type: r.type, url: r.url, redirected: r.redirected, headers: entries(r.headers), usedBefore: r.bodyUsed };
  let value: unknown;
  try {
    value = await read(r);
    if (value instanceof ArrayBuffer) value = Buffer.from(value).toString('hex');
    if (value instanceof Uint8Array) value = Buffer.from(value).toString('hex');
    if (value instanceof Blob) value = { type: value.type, text: await value.text() };
  } catch (err) {
    value = { rejected: (err as Error).constructor.name };
  }
  let again: unknown;
  try {
    again = await r.text();
  } catch (err) {
    again = { rejected: (err as Error).constructor.name };
  }
  return { ...head, value, usedAfter: r.bodyUsed, again };
}

const bytes = new Uint8Array([104, 105, 0xe2, 0x82, 0xac]);
const scenarios: Array<[string, Make]> = [
  ['no body', (R) => new R()],
  ['null body, 204', (R) => new R(null, { status: 204 })],
  ['a string', (R) => new R('Hello, World!')],
  ['a string, status and text', (R) => new R('nope', { status: 404, statusText: 'Not Found' })],
  ['a string with its own type', (R) => new R('<p>', { headers: { 'Content-Type': 'text/html' } })],
  ['a string, headers as pairs, repeated', (R) => new R('x', { headers: [['X-A', '1'], ['x-a', '2'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2']] })],
  ['a string, a Headers object', (R) => new R('x', { headers: new Headers({ 'x-b': ' padded ' }) })],
  ['bytes', (R) => new R(bytes)],
  ['bytes of a DataView', (R) => new R(new DataView(bytes.buffer, 1, 3))],
  ['an ArrayBuffer', (R) => new R(bytes.buffer.slice(0))],
  ['an empty string', (R) => new R('')],
  ['a Blob', (R) => new R(new Blob(['blob'], { type: 'text/x-blob' }))],
  ['URLSearchParams', (R) => new R(new URLSearchParams({ a: '1' }))],
  ['a stream', (R) => new R(new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode('streamed')), c.close()) }))],
  ['a stream, status and headers', (R) => new R(new ReadableStream({ pull: (c) => (c.enqueue(new TextEncoder().encode('pulled')), c.close()) }), { status: 201, statusText: 'Made', headers: { 'x-s': '1' } })],
  ['a locked stream', (R) => {
    const s = new ReadableStream();
    s.getReader();
    return new R(s);
  }],
  ['a stream already read from', (R) => {
    const s = new ReadableStream({ start: (c) => (c.enqueue(new Uint8Array([1])), c.enqueue(new Uint8Array([2]))) });
    void s.getReader().read().then(() => undefined);
    return new R(s);
  }],
  ['a stream with status 204', (R) => new R(new ReadableStream(), { status: 204 })],
  ['status 199', (R) => new R('x', { status: 199 })],
  ['status 600', (R) => new R('x', { status: 600 })],
  ['status 204 with a body', (R) => new R('x', { status: 204 })],
  ['status as a string', (R) => new R('x', { status: '201' as unknown as number })],
  ['a bad status text', (R) => new R('x', { statusText: 'a\nb' })],
  ['a bad header name', (R) => new R('x', { headers: { 'bad name': 'v' } })],
  ['a bad header value', (R) => new R('x', { headers: { 'x-v': 'a\nb' } })],
  ['Response.json', (R) => R.json({ a: [1, 'two'] })],
  ['Response.json with status and type', (R) => R.json([1], { status: 202, headers: { 'content-type': 'application/vnd.x+json' } })],
  ['Response.json with other headers', (R) => R.json(null, { headers: { 'x-a': '1' } })],
  ['Response.json of undefined', (R) => R.json(undefined)],
  ['Response.error', (R) => R.error()],
  ['Response.redirect', (R) => R.redirect('http://example.test/next', 301)],
];

const reads: Array<[string, (r: AnyResponse) => Promise<unknown>]> = [
  ['text', (r) => r.text()],
  ['json', (r) => r.json()],
  ['arrayBuffer', (r) => r.arrayBuffer()],
  ['bytes', (r) => (r as AnyResponse & { bytes(): Promise<Uint8Array> }).bytes()],
  ['blob', (r) => r.blob()],
  ['body stream', async (r) => (r.body === null ? null : drain(r.body))],
  ['clone, then both', async (r) => [await r.clone().text(), await r.text()]],
  ['headers changed before the read', async (r) => (r.headers.set('x-late', '1'), entries(r.headers))],
];

describe('Response: the same as Node\'s own, seen from a handler', () => {
  for (const [name, make] of scenarios) {
    test(name, async () => {
      for (const [how, read] of reads) {
        assert.deepEqual(await observe(make, Ferry as unknown as typeof Native, read), await observe(make, Native, read), `${name}, read by ${how}`);
      }
    });
  }

  test('instanceof: both kinds are Responses; a subclass checks as usual; toString', () => {
    const F = Ferry as unknown as typeof Native;
    assert.ok(new F('x') instanceof F);
    assert.ok(new Native('x') instanceof F);
    assert.ok(Native.error() instanceof F);
    assert.ok(!({} instanceof F));
    class Mine extends F {}
    assert.ok(new Mine('x') instanceof Mine);
    assert.ok(!(new F('x') instanceof Mine));
    assert.equal(Object.prototype.toString.call(new F('x')), '[object Response]');
  });

  test('a body read once is unusable; cloning it then throws', async () => {
    const r = new Ferry('once');
    assert.equal(await r.text(), 'once');
    assert.equal(r.bodyUsed, true);
    assert.throws(() => r.clone(), TypeError);
    await assert.rejects(r.arrayBuffer(), TypeError);
  });

  test('bytes are copied at construction, as the standard says', async () => {
    const b = new Uint8Array([1, 2, 3]);
    const r = new Ferry(b);
    b[0] = 9;
    assert.deepEqual([...new Uint8Array(await r.arrayBuffer())], [1, 2, 3]);
  });
});

describe('the shim\'s fast path', () => {
  test('parts of an unread string or bytes Response, with the implied type', () => {
    assert.deepEqual(responseParts(new Ferry('hi')), { status: 200, headers: ['content-type', 'text/plain;charset=UTF-8'], source: 'hi' });
    assert.deepEqual(responseParts(new Ferry('hi', { status: 201, headers: { 'X-A': '1' } })), { status: 201, headers: ['content-type', 'text/plain;charset=UTF-8', 'x-a', '1'], source: 'hi' });
    assert.deepEqual(responseParts(Ferry.json({ a: 1 })), { status: 200, headers: ['content-type', 'application/json'], source: '{"a":1}' });
    assert.deepEqual(responseParts(new Ferry(null, { status: 204 })), { status: 204, headers: [], source: null });
    const b = responseParts(new Ferry(new Uint8Array([1])));
    assert.deepEqual(b?.headers, []);
    assert.deepEqual([...(b?.source as Uint8Array)], [1]);
  });

  test('parts of an untouched stream Response: the stream itself, as Node\'s class would hand it out', async () => {
    const stream = new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(new Uint8Array([104, 105])), c.close()) });
    const r = new Ferry(stream, { status: 202, headers: { 'x-a': '1' } });
    assert.deepEqual(responseParts(r), { status: 202, headers: ['x-a', '1'], source: null, stream });
    assert.equal(r.body, stream, 'body is the stream given, as with Node\'s class');
    assert.deepEqual(responseParts(r)?.stream, stream, 'looking at body alone changes nothing');
    assert.equal(await drain(r.body!), 'hi');
    assert.equal(r.bodyUsed, true);
    assert.equal(responseParts(r), undefined, 'a stream read through body goes the general way');
    const locked = new Ferry(new ReadableStream());
    locked.body!.getReader();
    assert.equal(responseParts(locked), undefined, 'a locked one too');
    await assert.rejects(locked.text(), TypeError);
  });

  test('no parts for what must go the general way', async () => {
    const read = new Ferry('x');
    await read.text();
    assert.equal(responseParts(read), undefined, 'a read body');
    const streamed = new Ferry('x');
    void streamed.body;
    assert.equal(responseParts(streamed), undefined, 'a body whose stream was asked for');
    assert.equal(responseParts(new Ferry(new Blob(['x']))), undefined, 'a body only Node\'s class keeps');
    assert.equal(responseParts(new Native('x')), undefined, 'Node\'s own');
    class Mine extends (Ferry as unknown as typeof Native) {}
    assert.equal(responseParts(new Mine('x')), undefined, 'a subclass');
  });
});
