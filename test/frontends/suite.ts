// The conformance suite of Ferry's invocation front ends: one table of scenarios that every front
// end (HTTP's /fn surface, CoAP, gRPC) runs against a real server, each through a client Ferry did
// not write. A client answers in its own protocol; it maps that answer to the HTTP status Ferry's
// HTTP surface gives for the same outcome (the mapping tables are in docs/protocols.md), so one
// expectation holds for every front end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Ferry } from '../support/ferry.js';
import { manifest } from '../support/fn.js';

export interface FrontEndCall {
  function: string;
  method: string;
  /** Path and query after the function's name (`/`, `/a/b?x=1`). */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

export interface FrontEndAnswer {
  /** The HTTP status the same outcome has on Ferry's HTTP surface. */
  status: number;
  body: Buffer;
}

export interface FrontEndClient {
  /** A name for the test titles (`http`, `coap (coap-client)`, ...). */
  name: string;
  call(c: FrontEndCall): Promise<FrontEndAnswer>;
  /** Streams the answer where the protocol streams (HTTP, gRPC's InvokeStream): its chunks as they came. */
  stream?(c: FrontEndCall): Promise<{ status: number; chunks: Buffer[] }>;
  /** Scenarios this protocol cannot express, with the reason (the docs say the same). */
  cannot?: Partial<Record<Scenario, string>>;
}

export type Scenario = 'echo' | 'headers' | 'status' | 'large body' | 'unknown function' | 'token-only function' | 'timeout' | 'overload' | 'streamed answer';

/** The functions the suite calls, deployed once per server under `prefix`. */
export async function deploySuiteFunctions(ferry: Ferry, prefix: string): Promise<void> {
  const node = (handler: string, extra: Record<string, unknown> = {}): Record<string, string> => ({
    'ferry.json': manifest({ runtime: 'node', handler: 'index.mjs', ...extra }),
    'index.mjs': handler,
  });
  await ferry.deploy(`${prefix}-echo`, node(`export default async (req) => new Response(await req.arrayBuffer(), { headers: { 'content-type': req.headers.get('content-type') ?? 'application/octet-stream' } });`));
  await ferry.deploy(`${prefix}-headers`, node(`export default (req) => Response.json({ probe: req.headers.get('x-probe'), method: req.method, url: new URL(req.url).pathname + new URL(req.url).search });`));
  await ferry.deploy(`${prefix}-status`, node(`export default () => new Response('no such thing', { status: 400 });`));
  await ferry.deploy(`${prefix}-private`, node(`export default () => new Response('secret');`, { invoke: 'token' }));
  await ferry.deploy(`${prefix}-slow`, node(`export default () => new Promise((r) => setTimeout(() => r(new Response('late')), 5000));`, { limits: { timeoutMs: 300 } }));
  await ferry.deploy(`${prefix}-busy`, node(`export default () => new Promise((r) => setTimeout(() => r(new Response('done')), 1500));`, { scaling: { maxInstances: 1, concurrency: 1, maxQueue: 0 } }));
  await ferry.deploy(
    `${prefix}-stream`,
    node(`export default () => new Response(new ReadableStream({ async start(c) { for (let i = 0; i < 3; i++) { c.enqueue(new TextEncoder().encode('part' + i + ';')); await new Promise((r) => setTimeout(r, 50)); } c.close(); } }));`),
  );
}

/** Runs every scenario through `client` (the functions of `deploySuiteFunctions(ferry, prefix)`). */
export function frontEndSuite(client: () => FrontEndClient, prefix: () => string): void {
  const scenario = (name: Scenario, body: (c: FrontEndClient, p: string) => Promise<void>): void => {
    test(name, async (t) => {
      const c = client();
      const reason = c.cannot?.[name];
      // Not a skip: the protocol has no way to say it, and the docs say so.
      if (reason) return void t.diagnostic(`${c.name} cannot: ${reason}`);
      await body(c, prefix());
    });
  };
  const call = (c: FrontEndClient, fn: string, rest: Partial<FrontEndCall> = {}): Promise<FrontEndAnswer> => c.call({ function: fn, method: 'POST', path: '/', headers: {}, ...rest });

  scenario('echo', async (c, p) => {
    const a = await call(c, `${p}-echo`, { body: Buffer.from('hello, ferry'), headers: { 'content-type': 'text/plain' } });
    assert.equal(a.status, 200);
    assert.equal(a.body.toString(), 'hello, ferry');
  });
  scenario('headers', async (c, p) => {
    const a = await call(c, `${p}-headers`, { method: 'GET', path: '/a/b?x=1', headers: { 'x-probe': 'abc-123' } });
    assert.equal(a.status, 200);
    assert.deepEqual(JSON.parse(a.body.toString()), { probe: 'abc-123', method: 'GET', url: '/a/b?x=1' });
  });
  scenario('status', async (c, p) => {
    const a = await call(c, `${p}-status`);
    assert.equal(a.status, 400);
    assert.equal(a.body.toString(), 'no such thing');
  });
  scenario('large body', async (c, p) => {
    const big = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 10)) & 0xff;
    const a = await call(c, `${p}-echo`, { body: big });
    assert.equal(a.status, 200);
    assert.equal(a.body.length, big.length);
    assert.ok(a.body.equals(big), 'the echoed body differs');
  });
  scenario('unknown function', async (c, p) => {
    const a = await call(c, `${p}-nothing-here`);
    assert.equal(a.status, 404);
  });
  scenario('token-only function', async (c, p) => {
    const a = await call(c, `${p}-private`);
    assert.equal(a.status, 401);
    assert.ok(!a.body.toString().includes('secret'));
  });
  scenario('timeout', async (c, p) => {
    const a = await call(c, `${p}-slow`);
    assert.equal(a.status, 504);
  });
  scenario('overload', async (c, p) => {
    // One instance serving one call at a time, no queue: while a call runs, the next is refused.
    // Calls go one after another while the first is open; whichever reaches Ferry first runs (a
    // client may deliver the second before the first), every other one meanwhile is refused.
    const first = call(c, `${p}-busy`);
    const seen: number[] = [];
    for (let i = 0; i < 50 && !seen.includes(503); i++) seen.push((await call(c, `${p}-busy`)).status);
    seen.push((await first).status);
    assert.ok(seen.includes(503), `no call was refused: ${seen.join(', ')}`);
    assert.ok(seen.includes(200), `no call ran: ${seen.join(', ')}`);
    assert.deepEqual(seen.filter((s) => s !== 200 && s !== 503), []);
  });
  scenario('streamed answer', async (c, p) => {
    if (!c.stream) {
      const a = await call(c, `${p}-stream`, { method: 'GET' });
      assert.equal(a.status, 200);
      assert.equal(a.body.toString(), 'part0;part1;part2;');
      return;
    }
    const s = await c.stream({ function: `${p}-stream`, method: 'GET', path: '/', headers: {} });
    assert.equal(s.status, 200);
    assert.equal(Buffer.concat(s.chunks).toString(), 'part0;part1;part2;');
    assert.ok(s.chunks.length >= 2, `the answer came in ${s.chunks.length} chunk(s), not as a stream`);
  });
}
