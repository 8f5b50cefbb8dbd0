// The CoAP front end (src/frontends/coap/): the conformance suite through two clients Ferry did not
// write (the `coap` package and libcoap's coap-client), then the message layer through a raw UDP
// socket and coap-packet's codec: duplicates run a function once, slow answers come as separate
// responses, both address families are served on `::`, bad datagrams run nothing, oversize bodies
// get 4.13 with Size1, and a draining server still answers what is in flight.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { generate, parse, type Packet, type ParsedPacket } from 'coap-packet';
import { disposeFerry, startFerry, type Ferry } from './support/ferry.js';
import { manifest } from './support/fn.js';
import { deploySuiteFunctions, frontEndSuite } from './frontends/suite.js';
import { coapPackageCall, coapPackageClient, freeUdpPort, libcoapClientOf } from './frontends/coap-clients.js';

const MAX_BODY = 1536 * 1024;
let ferry: Ferry;
let port: number;

/** A UDP port free on both families at the time of asking. */

before(async () => {
  port = await freeUdpPort();
  ferry = await startFerry({ args: ['--coap-port', String(port), '--coap-host', '::', '--max-body', String(MAX_BODY), '--drain-timeout', '4s'] });
  await deploySuiteFunctions(ferry, 'c');
  const node = (handler: string, extra: Record<string, unknown> = {}): Record<string, string> => ({ 'ferry.json': manifest({ runtime: 'node', handler: 'index.mjs', ...extra }), 'index.mjs': handler });
  // Counts its calls; `?read` answers the count without counting.
  await ferry.deploy('c-counter', node(`let n = 0; export default async (req) => { if (new URL(req.url).search === '?read') return new Response(String(n)); n++; await new Promise((r) => setTimeout(r, 400)); return new Response('call ' + n); };`));
  await ferry.deploy('c-huge', node(`export default () => new Response(new Uint8Array(${MAX_BODY} + 1));`));
  await ferry.deploy('c-late', node(`export default () => new Promise((r) => setTimeout(() => r(new Response('late')), 3000));`));
  await ferry.deploy('c-later', node(`export default () => new Promise((r) => setTimeout(() => r(new Response('too late')), 10000));`));
  await ferry.deploy('c-method', node(`export default async (req, ctx) => new Response(req.method + ' ' + new URL(req.url).pathname + new URL(req.url).search + ' ' + (ctx.body ? await new Response(ctx.body).text() : ''), { headers: { 'content-type': 'application/json' } });`));
});
after(() => disposeFerry(ferry));

describe('front end: coap, through the coap package', () => {
  frontEndSuite(() => coapPackageClient(() => '127.0.0.1', () => port), () => 'c');
});

describe('front end: coap, through libcoap coap-client', () => {
  frontEndSuite(() => libcoapClientOf(() => '::1', () => port), () => 'c');
});

/** A raw UDP client: sends datagrams, collects every datagram that comes back. */
class RawClient {
  readonly got: ParsedPacket[] = [];
  readonly raw: Buffer[] = [];
  private waiters: Array<() => void> = [];
  private constructor(
    readonly socket: Socket,
    private readonly host: string,
  ) {
    socket.on('message', (m) => {
      this.raw.push(m);
      this.got.push(parse(m));
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async open(family: 4 | 6 = 4): Promise<RawClient> {
    const socket = createSocket(family === 4 ? 'udp4' : 'udp6');
    socket.bind(0);
    await once(socket, 'listening');
    return new RawClient(socket, family === 4 ? '127.0.0.1' : '::1');
  }

  send(datagram: Buffer | Packet): void {
    this.socket.send(Buffer.isBuffer(datagram) ? datagram : generate(datagram), port, this.host);
  }

  /** Waits for a datagram `match` accepts (and answers it); fails after 20 s. */
  async next(match: (p: ParsedPacket) => boolean, from = 0): Promise<ParsedPacket> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const p = this.got.slice(from).find(match);
      if (p) return p;
      if (Date.now() > deadline) throw new Error(`no matching datagram; got ${JSON.stringify(this.got.map((g) => [g.code, g.messageId, g.ack]))}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200).unref();
      });
    }
  }

  close(): void {
    this.socket.close();
  }
}

const token = (n: number): Buffer => Buffer.from(n.toString(16).padStart(8, '0'), 'hex');
const path = (...segs: string[]): Packet['options'] => segs.map((s) => ({ name: 'Uri-Path', value: Buffer.from(s) }));

async function counterCalls(c: RawClient, mid: number): Promise<number> {
  c.send({ confirmable: true, messageId: mid, token: token(mid), code: 'GET', options: [...path('c-counter')!, { name: 'Uri-Query', value: Buffer.from('read') }] });
  // Piggybacked, or (a cold start on a busy host can take longer than the ACK timeout) a separate
  // response: matched by its token, and acknowledged so it is not sent again.
  const a = await c.next((p) => p.code === '2.05' && p.token.equals(token(mid)));
  if (!a.ack) c.send({ ack: true, messageId: a.messageId, code: '0.00', token: Buffer.alloc(0), options: [] });
  return Number(a.payload.toString());
}

describe('coap message layer', () => {
  test('methods, path, query and Content-Format reach the function; its content-type comes back as Content-Format', async () => {
    for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'FETCH', 'PATCH', 'iPATCH']) {
      const a = await coapPackageCall('127.0.0.1', port, { function: 'C-Method', method, path: '/a/b?x=1&y=two words', headers: { 'content-type': 'text/plain' }, body: Buffer.from('payload') });
      assert.equal(a.code, '2.05', method);
      assert.equal(a.payload.toString(), `${method} /a/b?x=1&y=two%20words payload`);
    }
    const c = await RawClient.open();
    try {
      c.send({ confirmable: true, messageId: 7, token: token(7), code: 'GET', options: path('c-method') });
      const a = await c.next((p) => p.messageId === 7);
      assert.deepEqual(a.options.find((o) => o.name === 'Content-Format')?.value, Buffer.of(50));
    } finally {
      c.close();
    }
  });

  test('a retransmitted request (same message id, same endpoint) runs the function once and gets the same ACK', async () => {
    const c = await RawClient.open();
    try {
      const before = await counterCalls(c, 100);
      const dgram = generate({ confirmable: true, messageId: 101, token: token(101), code: 'POST', options: path('c-counter') });
      c.send(dgram);
      // Again while the call runs, then once it was answered.
      await new Promise((r) => setTimeout(r, 100));
      c.send(dgram);
      const first = await c.next((p) => p.messageId === 101 && p.ack && p.code === '2.05');
      const seen = c.got.length;
      c.send(dgram);
      const again = await c.next((p) => p.messageId === 101 && p.ack, seen);
      assert.equal(first.payload.toString(), `call ${before + 1}`);
      assert.deepEqual(again, first);
      assert.equal(await counterCalls(c, 102), before + 1, 'the duplicate ran the function again');
    } finally {
      c.close();
    }
  });

  test('an answer later than the ACK timeout: an empty ACK, then a confirmable separate response', async () => {
    const c = await RawClient.open();
    try {
      c.send({ confirmable: true, messageId: 200, token: token(200), code: 'GET', options: path('c-late') });
      const ack = await c.next((p) => p.messageId === 200);
      assert.equal(ack.ack, true);
      assert.equal(ack.code, '0.00', 'the first answer to the request is an empty ACK');
      const res = await c.next((p) => p.confirmable && p.token.equals(token(200)));
      assert.equal(res.code, '2.05');
      assert.equal(res.payload.toString(), 'late');
      c.send({ ack: true, messageId: res.messageId, code: '0.00' });
    } finally {
      c.close();
    }
    // Through the coap package's client too.
    const a = await coapPackageCall('127.0.0.1', port, { function: 'c-late', method: 'GET', path: '/', headers: {} });
    assert.equal(a.code, '2.05');
    assert.equal(a.payload.toString(), 'late');
  });

  test('bound to ::, it answers over IPv4 and IPv6', async () => {
    for (const family of [4, 6] as const) {
      const c = await RawClient.open(family);
      try {
        c.send({ confirmable: true, messageId: 300, token: token(300), code: 'POST', options: path('c-echo'), payload: Buffer.from(`over IPv${family}`) });
        const a = await c.next((p) => p.messageId === 300);
        assert.equal(a.code, '2.05');
        assert.equal(a.payload.toString(), `over IPv${family}`);
      } finally {
        c.close();
      }
    }
  });

  test('bad datagrams are reset or dropped, run nothing, and a good request still works', async () => {
    const c = await RawClient.open();
    try {
      const before = await counterCalls(c, 400);
      const good = generate({ confirmable: true, messageId: 401, token: token(401), code: 'POST', options: path('c-counter') });
      const bad: Array<[string, Buffer, 'reset' | 'dropped' | string]> = [
        ['garbage', Buffer.from('this is not coap at all'), 'dropped'],
        ['an empty datagram', Buffer.alloc(0), 'dropped'],
        ['a truncated header', good.subarray(0, 3), 'dropped'],
        ['version 2', Buffer.concat([Buffer.of(0x84, 0x02, 0x01, 0xa1), token(0x1a1), Buffer.of(0xb9), Buffer.from('c-counter')]), 'dropped'],
        ['a token length of 9', Buffer.concat([Buffer.of(0x49, 0x02, 0x01, 0xa2), Buffer.alloc(9, 1), Buffer.of(0xb9), Buffer.from('c-counter')]), 'reset'],
        ['option delta 15', Buffer.concat([Buffer.of(0x40, 0x02, 0x01, 0xa3, 0xf1, 0x00)]), 'reset'],
        ['a truncated option', Buffer.concat([good.subarray(0, 8), Buffer.of(0xe0)]), 'reset'],
        ['a non-empty empty message', Buffer.of(0x40, 0x00, 0x01, 0xa4, 0xff, 0x01), 'reset'],
        ['an unknown critical option', generate({ confirmable: true, messageId: 0x1a5, token: token(0x1a5), code: 'POST', options: [...path('c-counter')!, { name: '2051', value: Buffer.of(1) }] }), '4.02'],
        ['Proxy-Uri', generate({ confirmable: true, messageId: 0x1a6, token: token(0x1a6), code: 'POST', options: [...path('c-counter')!, { name: 'Proxy-Uri', value: Buffer.from('coap://example.com/') }] }), '5.05'],
        ['an unknown Content-Format', generate({ confirmable: true, messageId: 0x1a7, token: token(0x1a7), code: 'POST', options: [...path('c-counter')!, { name: 'Content-Format', value: Buffer.of(0xff, 0xf0) }] }), '4.15'],
        ['an unknown method code', generate({ confirmable: true, messageId: 0x1a8, token: token(0x1a8), code: '0.29', options: path('c-counter') }), '4.05'],
        ['a Block2 of an answer never sent', generate({ confirmable: true, messageId: 0x1a9, token: token(0x1a9), code: 'GET', options: [...path('c-counter')!, { name: 'Block2', value: Buffer.of(0x36) }] }), '4.08'],
        ['a Block1 out of order', generate({ confirmable: true, messageId: 0x1aa, token: token(0x1aa), code: 'POST', options: [...path('c-counter')!, { name: 'Block1', value: Buffer.of(0x3e) }], payload: Buffer.alloc(1024) }), '4.08'],
      ];
      for (const [what, datagram, expected] of bad) {
        const seen = c.got.length;
        c.send(datagram);
        if (expected === 'dropped') continue;
        const mid = datagram.readUInt16BE(2);
        const a = await c.next((p) => p.messageId === mid, seen);
        if (expected === 'reset') assert.equal(a.reset, true, `${what}: ${JSON.stringify(a)}`);
        else assert.equal(a.code, expected, `${what}: ${a.payload.toString()}`);
      }
      // Every bad datagram was handled before this one: the good request still runs, once.
      c.send(good);
      const a = await c.next((p) => p.messageId === 401 && p.ack);
      assert.equal(a.code, '2.05');
      assert.equal(await counterCalls(c, 402), before + 1, 'a bad datagram ran the function');
      // No answer went to a datagram that had to be dropped.
      const dropped = new Set(bad.filter(([, d, e]) => e === 'dropped' && d.length >= 4).map(([, d]) => d.readUInt16BE(2)));
      assert.deepEqual(c.got.filter((p) => dropped.has(p.messageId)), []);
    } finally {
      c.close();
    }
  });

  test('a body over --max-body gets 4.13 with Size1, whether Size1 says so first or the blocks do; an answer over it is cut', async () => {
    const c = await RawClient.open();
    try {
      const before = await counterCalls(c, 500);
      const block = (num: number, more: boolean): Buffer => (num < 16 ? Buffer.of((num << 4) | (more ? 8 : 0) | 6) : Buffer.of(num >> 4, ((num & 15) << 4) | (more ? 8 : 0) | 6));
      const size1 = Buffer.alloc(4);
      size1.writeUInt32BE(MAX_BODY + 1);
      c.send({ confirmable: true, messageId: 501, token: token(501), code: 'POST', options: [...path('c-counter')!, { name: 'Block1', value: block(0, true) }, { name: 'Size1', value: size1 }], payload: Buffer.alloc(1024) });
      const early = await c.next((p) => p.messageId === 501);
      assert.equal(early.code, '4.13');
      assert.equal(early.options.find((o) => o.name === 'Size1')?.value.readUIntBE(0, 3), MAX_BODY);
      // Without Size1: block after block until the sum passes the limit.
      const blocks = MAX_BODY / 1024 + 1;
      let last: ParsedPacket | undefined;
      for (let num = 0; num < blocks; num++) {
        const mid = 1000 + num;
        c.send({ confirmable: true, messageId: mid, token: token(mid), code: 'POST', options: [...path('c-counter')!, { name: 'Block1', value: block(num, true) }], payload: Buffer.alloc(1024, num) });
        last = await c.next((p) => p.messageId === mid, c.got.length - 1);
        if (last.code !== '2.31') break;
      }
      assert.equal(last!.code, '4.13');
      assert.equal(last!.messageId, 1000 + blocks - 1, 'refused at the block that passed the limit');
      assert.equal(last!.options.find((o) => o.name === 'Size1')?.value.readUIntBE(0, 3), MAX_BODY);
      assert.equal(await counterCalls(c, 502), before, 'a refused body ran the function');
    } finally {
      c.close();
    }
    // An answer over the limit is not kept for block-wise fetching: it is cut.
    const huge = await coapPackageCall('127.0.0.1', port, { function: 'c-huge', method: 'GET', path: '/', headers: {} });
    assert.equal(huge.code, '5.00');
  });

  // Last: it stops the server (drain timeout 4 s).
  test('draining: a call in flight ends, one past the drain timeout is cut (5.03), a new request is refused (5.03)', async () => {
    const c = await RawClient.open();
    try {
      c.send({ confirmable: true, messageId: 600, token: token(600), code: 'GET', options: path('c-late') });
      c.send({ confirmable: true, messageId: 601, token: token(601), code: 'GET', options: path('c-later') });
      // Both empty ACKs: both calls run.
      assert.equal((await c.next((p) => p.messageId === 600)).code, '0.00');
      assert.equal((await c.next((p) => p.messageId === 601)).code, '0.00');
      const stopped = ferry.stop();
      const ended = await c.next((p) => p.confirmable && p.token.equals(token(600)));
      assert.equal(ended.code, '2.05');
      assert.equal(ended.payload.toString(), 'late');
      c.send({ ack: true, messageId: ended.messageId, code: '0.00' });
      // The server has been draining since before that answer.
      c.send({ confirmable: true, messageId: 602, token: token(602), code: 'POST', options: path('c-echo'), payload: Buffer.from('after') });
      const refused = await c.next((p) => p.messageId === 602);
      assert.equal(refused.code, '5.03');
      const cut = await c.next((p) => p.confirmable && p.token.equals(token(601)));
      assert.equal(cut.code, '5.03');
      assert.match(cut.payload.toString(), /^shutting-down: /);
      assert.equal(await stopped, 0);
    } finally {
      c.close();
    }
  });
});
