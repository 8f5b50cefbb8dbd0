/**
 * CORS and rate limits, end to end: the real server, real functions in real sandboxes, requests
 * with exactly the headers a browser sends. A preflight is answered by the gateway without waking
 * the function; a refused one carries no allow header. Rate limits are tested with bursts far over
 * buckets that refill once in a thousand seconds, so no test races the refill.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import { browserSkip, launchBrowser, openContext } from './support/browser.js';
import { disposeFerry, packFiles, startFerry, type Ferry } from './support/ferry.js';
import { listInstances } from './support/fn.js';
import { nodeFn } from './support/helpers.js';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  /** Every response header line, as sent (name lower-cased). */
  lines: Array<[string, string]>;
  body: string;
}

/** One request with node:http on a fresh connection: exact headers, a chosen source address. */
function call(url: string, o: { method?: string; headers?: Record<string, string>; body?: string; localAddress?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = { ...o.headers, ...(o.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(o.body)) }) };
    const req = request(url, { method: o.method ?? 'GET', headers, localAddress: o.localAddress, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => {
        const lines: Array<[string, string]> = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) lines.push([res.rawHeaders[i]!.toLowerCase(), res.rawHeaders[i + 1]!]);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, lines, body });
      });
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

/** What Chrome sends along with a cross-origin request (besides Origin and the preflight's own). */
const browser = { accept: '*/*', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0', 'sec-fetch-mode': 'cors', 'sec-fetch-site': 'cross-site', 'sec-fetch-dest': 'empty', 'accept-language': 'en' };

const values = (a: Answer, name: string): string[] => a.lines.filter(([n]) => n === name).map(([, v]) => v);

const app = 'https://app.example.com';
const consoleOrigin = 'https://console.example.com';

// One server for CORS, the functions' rate limits and the browser: each has functions of its own
// (the flags are the CORS tests'; nothing else here reads them). The server-wide limits need
// servers of their own.
let ferry: Ferry;
before(async () => {
  ferry = await startFerry({ args: ['--cors-origin', consoleOrigin, '--cors-credentials', '--domain', 'fn.test'] });
});
after(() => disposeFerry(ferry));

describe('CORS', () => {
  before(async () => {
    // The function sets its own CORS headers: with a policy, Ferry's win.
    const answer = "export default (req) => new Response('web:' + req.method, { headers: { 'access-control-allow-origin': '*', 'access-control-allow-credentials': 'false', 'x-answer': '42' } });";
    await ferry.deploy('web', nodeFn(answer, { cors: { allowOrigins: [app, 'https://*.example.org'], allowMethods: ['GET', 'POST', 'PUT'], allowHeaders: ['content-type', 'x-custom'], exposeHeaders: ['x-answer'], allowCredentials: true, maxAge: 120 } }));
    await ferry.deploy('own', nodeFn(answer.replace("'web:'", "'own:'")));
  });

  test('a preflight from an admitted origin is answered by the gateway; the function is not woken', async () => {
    assert.deepEqual(await listInstances(ferry, 'web'), []);
    const pre = await call(`${ferry.url}/fn/web/items`, {
      method: 'OPTIONS',
      headers: { ...browser, origin: app, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type,x-custom' },
    });
    assert.equal(pre.status, 204, pre.body);
    assert.deepEqual(values(pre, 'access-control-allow-origin'), [app]);
    assert.equal(pre.headers['access-control-allow-methods'], 'PUT');
    assert.equal(pre.headers['access-control-allow-headers'], 'content-type, x-custom');
    assert.equal(pre.headers['access-control-allow-credentials'], 'true');
    assert.equal(pre.headers['access-control-max-age'], '120');
    assert.match(String(pre.headers.vary), /Origin/);
    // The suffix form admits a host below the domain.
    const sub = await call(`${ferry.url}/fn/web/`, { method: 'OPTIONS', headers: { ...browser, origin: 'https://shop.example.org', 'access-control-request-method': 'POST' } });
    assert.equal(sub.status, 204);
    assert.deepEqual(values(sub, 'access-control-allow-origin'), ['https://shop.example.org']);
    assert.deepEqual(await listInstances(ferry, 'web'), [], 'no instance started for a preflight');
  });

  test('host routing speaks the same CORS: a preflight to {name}.{domain} wakes nothing either', async () => {
    const pre = await call(`${ferry.url}/items`, { method: 'OPTIONS', headers: { ...browser, host: 'web.fn.test', origin: app, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    assert.equal(pre.status, 204, pre.body);
    assert.deepEqual(values(pre, 'access-control-allow-origin'), [app]);
    const refused = await call(`${ferry.url}/items`, { method: 'OPTIONS', headers: { ...browser, host: 'web.fn.test', origin: 'https://evil.example.net', 'access-control-request-method': 'POST' } });
    assert.equal(refused.status, 403);
    assert.deepEqual(values(refused, 'access-control-allow-origin'), []);
    assert.deepEqual(await listInstances(ferry, 'web'), []);
  });

  test('a policy that would hand every site its visitors\' credentials is refused at upload', async () => {
    const res = await ferry.api('POST', '/v1/functions/wide/versions', await packFiles(nodeFn("export default () => 'x';", { cors: { allowOrigins: ['*'], allowCredentials: true } })), { 'content-type': 'application/gzip' });
    assert.equal(res.status, 422);
    const p = (await res.json()) as { code: string; detail: string };
    assert.equal(p.code, 'invalid-manifest');
    assert.match(p.detail, /allowCredentials/);
  });

  test('a refused preflight answers 403 without any allow header', async () => {
    const refused: Array<Record<string, string>> = [
      { origin: 'https://evil.example.net', 'access-control-request-method': 'GET' },
      { origin: 'https://example.org', 'access-control-request-method': 'GET' }, // the suffix form needs a host below it
      { origin: 'https://app.example.com.evil.net', 'access-control-request-method': 'GET' },
      { origin: app, 'access-control-request-method': 'DELETE' },
      { origin: app, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-secret' },
    ];
    for (const h of refused) {
      const a = await call(`${ferry.url}/fn/web/`, { method: 'OPTIONS', headers: { ...browser, ...h } });
      assert.equal(a.status, 403, JSON.stringify(h));
      assert.equal(JSON.parse(a.body).code, 'cors-refused');
      for (const [name] of a.lines) assert.ok(!name.startsWith('access-control-allow-'), `${name} on a refused preflight ${JSON.stringify(h)}`);
    }
    assert.deepEqual(await listInstances(ferry, 'web'), []);
  });

  test("simple and actual requests carry the policy's headers, never the function's", async () => {
    const simple = await call(`${ferry.url}/fn/web/`, { headers: { ...browser, origin: app } });
    assert.equal(simple.status, 200);
    assert.equal(simple.body, 'web:GET');
    assert.deepEqual(values(simple, 'access-control-allow-origin'), [app], 'the origin itself, never *');
    assert.deepEqual(values(simple, 'access-control-allow-credentials'), ['true']);
    assert.deepEqual(values(simple, 'access-control-expose-headers'), ['x-answer']);
    assert.match(values(simple, 'vary').join(','), /Origin/);
    assert.equal(simple.headers['x-answer'], '42');
    // The request the preflight above admitted: a JSON body and a header of its own.
    const actual = await call(`${ferry.url}/fn/web/items`, { method: 'PUT', headers: { ...browser, origin: app, 'content-type': 'application/json', 'x-custom': '1' }, body: '{}' });
    assert.equal(actual.status, 200);
    assert.deepEqual(values(actual, 'access-control-allow-origin'), [app]);
    // An origin the policy does not admit is served (CORS is the browser's to enforce) but gets no allow header.
    const other = await call(`${ferry.url}/fn/web/`, { headers: { ...browser, origin: 'https://evil.example.net' } });
    assert.equal(other.status, 200);
    assert.deepEqual(values(other, 'access-control-allow-origin'), []);
    assert.deepEqual(values(other, 'access-control-allow-credentials'), []);
    assert.match(values(other, 'vary').join(','), /Origin/);
  });

  test('a function without a policy gets its preflights and keeps its own headers', async () => {
    const pre = await call(`${ferry.url}/fn/own/`, { method: 'OPTIONS', headers: { ...browser, origin: app, 'access-control-request-method': 'PUT' } });
    assert.equal(pre.status, 200);
    assert.equal(pre.body, 'own:OPTIONS');
    assert.deepEqual(values(pre, 'access-control-allow-origin'), ['*']);
    assert.deepEqual(values(pre, 'access-control-allow-credentials'), ['false']);
  });

  test('/v1 answers the --cors-origin pages, with credentials, and refuses others', async () => {
    const pre = await call(`${ferry.url}/v1/functions`, { method: 'OPTIONS', headers: { ...browser, origin: consoleOrigin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
    assert.equal(pre.status, 204, pre.body);
    assert.deepEqual(values(pre, 'access-control-allow-origin'), [consoleOrigin]);
    assert.equal(pre.headers['access-control-allow-credentials'], 'true');
    assert.equal(pre.headers['access-control-allow-headers'], 'authorization');
    const list = await call(`${ferry.url}/v1/functions`, { headers: { ...browser, origin: consoleOrigin, authorization: `Bearer ${ferry.token}` } });
    assert.equal(list.status, 200);
    assert.deepEqual(values(list, 'access-control-allow-origin'), [consoleOrigin]);
    assert.match(values(list, 'vary').join(','), /Origin/);
    // An error the page may read too: 401 with the allow header.
    const denied = await call(`${ferry.url}/v1/functions`, { headers: { ...browser, origin: consoleOrigin } });
    assert.equal(denied.status, 401);
    assert.deepEqual(values(denied, 'access-control-allow-origin'), [consoleOrigin]);
    const evil = await call(`${ferry.url}/v1/functions`, { method: 'OPTIONS', headers: { ...browser, origin: app, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
    assert.equal(evil.status, 403);
    assert.deepEqual(values(evil, 'access-control-allow-origin'), []);
  });
});

describe('rate limits of functions', () => {
  let second: string;
  let freeVersion: string;
  before(async () => {
    await ferry.deploy('limited', nodeFn("export default () => 'limited';", { rateLimit: { requestsPerSecond: 0.001, burst: 3, per: 'function' } }));
    await ferry.deploy('per-token', nodeFn("export default () => 'per-token';", { invoke: 'token', rateLimit: { requestsPerSecond: 0.001, burst: 2, per: 'token' } }));
    freeVersion = (await ferry.deploy('free', nodeFn("export default () => 'free';"))).version;
    second = ((await (await ferry.api('POST', '/v1/tokens', { days: 1 })).json()) as { token: string }).token;
  });

  test("a burst over a function's limit gets 429 with Retry-After; another function is still served", async () => {
    const answers = await Promise.all(Array.from({ length: 12 }, () => call(`${ferry.url}/fn/limited/`)));
    const ok = answers.filter((a) => a.status === 200);
    const limited = answers.filter((a) => a.status === 429);
    assert.equal(ok.length, 3, answers.map((a) => a.status).join(','));
    assert.equal(limited.length, 9);
    for (const a of ok) assert.equal(a.headers['ratelimit-limit'], '3');
    for (const a of limited) {
      assert.match(a.headers['content-type'] ?? '', /^application\/problem\+json/);
      assert.equal(JSON.parse(a.body).code, 'rate-limited');
      assert.ok(Number(a.headers['retry-after']) >= 1, `Retry-After: ${a.headers['retry-after']}`);
      assert.equal(a.headers['ratelimit-limit'], '3');
      assert.equal(a.headers['ratelimit-remaining'], '0');
      assert.ok(Number(a.headers['ratelimit-reset']) >= 1);
    }
    for (let i = 0; i < 5; i++) assert.equal((await call(`${ferry.url}/fn/free/`)).body, 'free');
  });

  test('per token: one token over its limit, another token still served', async () => {
    const as = (token: string): Promise<Answer> => call(`${ferry.url}/fn/per-token/`, { headers: { authorization: `Bearer ${token}` } });
    const first = [await as(ferry.token), await as(ferry.token), await as(ferry.token), await as(ferry.token)];
    assert.deepEqual(first.map((a) => a.status), [200, 200, 429, 429]);
    assert.equal((await as(second)).status, 200, 'another token has a bucket of its own');
    assert.equal((await as(second)).status, 200);
    assert.equal((await as(second)).status, 429);
    // A caller with no valid token spends nobody's budget: refused before the limit.
    assert.equal((await as('fry_not-a-token')).status, 401);
  });

  test('a limit set by PATCH applies to the next call, per address', async () => {
    const patched = await ferry.api('PATCH', `/v1/functions/free/versions/${freeVersion}`, { rateLimit: { requestsPerSecond: 0.001, burst: 2 } });
    assert.equal(patched.status, 200, await patched.text());
    const from = (addr: string): Promise<Answer> => call(`${ferry.url}/fn/free/`, { localAddress: addr });
    assert.deepEqual([(await from('127.0.0.2')).status, (await from('127.0.0.2')).status, (await from('127.0.0.2')).status], [200, 200, 429]);
    assert.equal((await from('127.0.0.3')).status, 200, 'another address has a bucket of its own');
  });
});

describe('server-wide rate limits', () => {
  test('per address without --trust-proxy: the socket decides, X-Forwarded-For is not believed; per token across addresses', async (t) => {
    const ferry = await startFerry({ args: ['--rate-limit-per-address', '0.001:5', '--rate-limit-per-token', '0.001:3'] });
    t.after(() => disposeFerry(ferry));
    await ferry.deploy('hello', nodeFn("export default () => 'hello';")); // token: 1 of 3, 127.0.0.1: 1 of 5
    const from = (addr: string, path: string, headers: Record<string, string> = {}): Promise<Answer> => call(`${ferry.url}${path}`, { localAddress: addr, headers });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await from('127.0.0.2', '/fn/hello/', { 'x-forwarded-for': `203.0.113.${i}` })).status);
    statuses.push((await from('127.0.0.2', '/healthz')).status);
    const over = await from('127.0.0.2', '/fn/hello/', { 'x-forwarded-for': '203.0.113.77' });
    assert.deepEqual(statuses, [200, 200, 200, 200, 200]);
    assert.equal(over.status, 429, 'the sixth request of one address, whatever X-Forwarded-For says');
    assert.equal(JSON.parse(over.body).code, 'rate-limited');
    assert.ok(Number(over.headers['retry-after']) >= 1);
    assert.equal((await from('127.0.0.2', '/v1/functions')).status, 429, '/v1 shares the address bucket');
    assert.equal((await from('127.0.0.3', '/fn/hello/')).body, 'hello', 'another address is served');
    // Per token: the admin token's bucket follows it from address to address.
    const bearer = { authorization: `Bearer ${ferry.token}` };
    assert.equal((await from('127.0.0.4', '/v1/functions', bearer)).status, 200);
    assert.equal((await from('127.0.0.5', '/v1/functions', bearer)).status, 200);
    const spent = await from('127.0.0.6', '/v1/functions', bearer);
    assert.equal(spent.status, 429);
    assert.equal(spent.headers['ratelimit-limit'], '3');
    assert.equal((await from('127.0.0.6', '/healthz')).status, 200, 'the same address without the token is served');
  });

  test('per address with --trust-proxy: X-Forwarded-For names the client, and the table stays bounded under a flood', async (t) => {
    const ferry = await startFerry({ args: ['--trust-proxy', '127.0.0.1', '--rate-limit-per-address', '0.001:2', '--rate-limit-buckets', '50', '--metrics-public'] });
    t.after(() => disposeFerry(ferry));
    const via = (client: string, path = '/healthz'): Promise<Answer> => call(`${ferry.url}${path}`, { localAddress: '127.0.0.1', headers: { 'x-forwarded-for': client } });
    assert.deepEqual([(await via('198.51.100.1')).status, (await via('198.51.100.1')).status, (await via('198.51.100.1')).status], [200, 200, 429]);
    assert.equal((await via('198.51.100.2')).status, 200, 'another client behind the same proxy is served');
    // IPv6 clients count by their /64.
    assert.deepEqual([(await via('2001:db8:1:2::a')).status, (await via('2001:db8:1:2::b')).status, (await via('2001:db8:1:2::c')).status], [200, 200, 429]);
    // A flood of distinct addresses: the table keeps at most --rate-limit-buckets buckets.
    for (let i = 0; i < 400; i += 20) await Promise.all(Array.from({ length: 20 }, (_, j) => via(`10.${(i + j) >> 8}.${(i + j) & 255}.9`)));
    const metrics = await via('192.0.2.200', '/metrics');
    assert.equal(metrics.status, 200);
    const size = /^ferry_rate_limit_buckets\{table="address"\} (\d+)$/m.exec(metrics.body);
    assert.ok(size, 'the gauge is reported');
    assert.ok(Number(size[1]) <= 50 && Number(size[1]) > 0, `address buckets: ${size[1]}`);
  });
});

describe('a real browser', () => {
  test('a page on one origin calls functions on another: the admitted one answers, the refused one is never called', { skip: browserSkip() }, async (t) => {
    // The page's own origin: a server of the test's on another port.
    const site = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>site</title><body>site</body>'));
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => site.close(() => r())));
    const origin = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
    const handler = "export default async (req) => new Response('got:' + (await req.text()), { headers: { 'x-answer': '42' } });";
    await ferry.deploy('admitted', nodeFn(handler, { cors: { allowOrigins: [origin], allowHeaders: ['content-type', 'x-custom'], exposeHeaders: ['x-answer'] } }));
    await ferry.deploy('refused', nodeFn(handler, { cors: { allowOrigins: ['https://elsewhere.example.com'], allowHeaders: ['content-type', 'x-custom'] } }));
    const browser = await launchBrowser();
    t.after(() => browser.close());
    const page = await (await openContext(browser)).newPage();
    await page.goto(`${origin}/`);
    // A JSON PUT with a header of its own: the browser sends a preflight first.
    const out = await page.evaluate(async (base) => {
      const results: string[] = [];
      for (const fn of ['admitted', 'refused']) {
        try {
          const r = await fetch(`${base}/fn/${fn}/`, { method: 'PUT', headers: { 'content-type': 'application/json', 'x-custom': '1' }, body: '{"a":1}' });
          results.push(`${fn}=${r.status}:${await r.text()}:${r.headers.get('x-answer')}`);
        } catch {
          results.push(`${fn}=blocked`);
        }
      }
      return results.join(' ');
    }, ferry.url);
    assert.equal(out, 'admitted=200:got:{"a":1}:42 refused=blocked');
    // The refused preflight never reached the function: it has not even started.
    assert.deepEqual(await listInstances(ferry, 'refused'), []);
  });
});
