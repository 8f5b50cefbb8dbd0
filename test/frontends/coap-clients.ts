// Clients of Ferry's CoAP front end that Ferry did not write: the `coap` package's and libcoap's
// `coap-client` (Debian's libcoap3-bin), for the conformance suite (test/frontends/suite.ts). Each
// maps the CoAP code back to the HTTP status of the same outcome (docs/protocols.md).
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIPv6 } from 'node:net';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { Agent, request as coapRequest } from 'coap';
import type { FrontEndAnswer, FrontEndCall, FrontEndClient } from './suite.js';

/** The binary libcoap3-bin installs without DTLS (scripts/install-system-deps.sh). */
export const libcoapClient = 'coap-client-notls';

/** A CoAP code (`4.04`) as the HTTP status Ferry's HTTP surface answers for the same outcome. */
export function httpStatusOf(code: string): number {
  const [cls, detail] = code.split('.').map(Number) as [number, number];
  if (cls === 2) return detail === 1 ? 201 : 200;
  return cls * 100 + detail;
}

/** CoAP has no option for an arbitrary header: only Content-Format and Accept reach a function. */
const cannot = { headers: 'CoAP has no option for an arbitrary request header (x-probe); only Content-Format and Accept reach the function' };

/** `/{function}/rest` and the query of a suite call. */
function target(c: FrontEndCall): { pathname: string; query: string } {
  const q = c.path.indexOf('?');
  const rest = (q < 0 ? c.path : c.path.slice(0, q)).replace(/\/+$/, '');
  return { pathname: `/${c.function}${rest}`, query: q < 0 ? '' : c.path.slice(q + 1) };
}

/**
 * One confirmable request through the `coap` package (Block1 for bodies over a block), on an agent
 * of its own: calls run side by side, as the suite's overload scenario needs.
 */
export function coapPackageCall(host: string, port: number, c: FrontEndCall): Promise<{ code: string; payload: Buffer }> {
  const { pathname, query } = target(c);
  return new Promise((resolve, reject) => {
    const agent = new Agent({ type: isIPv6(host) ? 'udp6' : 'udp4' });
    const req = coapRequest({ hostname: host, port, method: c.method as 'GET', pathname, query, confirmable: true, agent });
    const type = c.headers['content-type'];
    if (type) req.setOption('Content-Format', type);
    if (c.body && c.body.length > 1024) req.setOption('Block1', Buffer.of(6));
    // The agent closes its socket once it has no request left.
    req.on('response', (res: { code: string; payload: Buffer }) => resolve({ code: res.code, payload: res.payload }));
    req.on('error', reject);
    req.on('timeout', reject);
    req.end(c.body ?? Buffer.alloc(0));
  });
}

export function coapPackageClient(host: () => string, port: () => number): FrontEndClient {
  return {
    name: 'coap (coap package)',
    cannot,
    async call(c): Promise<FrontEndAnswer> {
      const a = await coapPackageCall(host(), port(), c);
      return { status: httpStatusOf(a.code), body: a.payload };
    },
  };
}

/**
 * One request through libcoap's coap-client: the payload from a file (`-f`), block-wise (`-b`),
 * the answer into a file (`-o`). It prints an error answer's code and payload on stderr, and at
 * verbosity 7 when it sent its request on stdout: each call starts only once the call before it
 * sent, so calls reach Ferry in the order they were made (the suite's overload scenario counts on it).
 */
export function libcoapClientOf(host: () => string, port: () => number): FrontEndClient {
  let lastSent: Promise<void> = Promise.resolve();
  return {
    name: 'coap (libcoap coap-client)',
    cannot,
    async call(c): Promise<FrontEndAnswer> {
      const before = lastSent;
      let markSent = (): void => {};
      lastSent = new Promise<void>((r) => (markSent = r));
      const dir = await mkdtemp(join(tmpdir(), 'ferry-coap-client-'));
      try {
        const { pathname, query } = target(c);
        const h = host().includes(':') ? `[${host()}]` : host();
        const args = ['-v', '7', '-m', c.method.toLowerCase(), '-b', '1024', '-B', '60', '-o', join(dir, 'out')];
        if (c.body) {
          await writeFile(join(dir, 'in'), c.body);
          args.push('-f', join(dir, 'in'));
        }
        if (c.headers['content-type']) args.push('-t', c.headers['content-type']);
        args.push(`coap://${h}:${port()}${pathname}${query ? `?${query}` : ''}`);
        await before;
        const stderr = await new Promise<string>((resolve, reject) => {
          const child = spawn(libcoapClient, args, { stdio: ['ignore', 'pipe', 'pipe'] });
          let out = '';
          let err = '';
          child.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            if (/ : sent \d+ bytes/.test(out)) markSent();
          });
          child.stderr.on('data', (d: Buffer) => (err += d.toString()));
          child.on('error', reject);
          child.on('close', (code) => (code === 0 ? resolve(err) : reject(new Error(`${libcoapClient} ${args.join(' ')} exited ${code}\n${err}`))));
        });
        const m = /^(\d\.\d\d) ?(.*)$/m.exec(stderr);
        if (m) return { status: httpStatusOf(m[1]!), body: Buffer.from(m[2]!) };
        const body = await readFile(join(dir, 'out')).catch(() => Buffer.alloc(0));
        return { status: 200, body };
      } finally {
        markSent();
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** A UDP port nothing is bound to right now (IPv6 and IPv4). */
export async function freeUdpPort(): Promise<number> {
  const s = createSocket({ type: 'udp6', ipv6Only: false });
  s.bind(0, '::');
  await once(s, 'listening');
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}
