/**
 * The instance API: every instance reaches Ferry through its own Unix socket with a token scoped
 * to its function's objects (and `/fn/*` as its owning group with execute). Under bwrap: the
 * token is refused everywhere else on the socket, and everywhere on TCP; it stops working when
 * the instance stops, and the socket goes with it; under `egress` the server's TCP port is out of reach and
 * the socket is the way; no token reaches a log. Then once more under the process driver.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { startFerry, disposeFerry, type Ferry } from './support/ferry.js';
import { expectProblem, nodeFn } from './support/helpers.js';
import { sandboxSupport } from './support/sandbox.js';
import { listInstances } from './support/fn.js';
import { waitFor } from './support/wait.js';

const support = await sandboxSupport();
const skip = support.ok ? false : `the bwrap sandbox cannot run here: ${support.why}`;

let ferry: Ferry;
let bobToken = '';
/** Every instance token seen, for the leak check. */
const seenTokens: string[] = [];

interface Probe {
  token: string;
  url: string;
  socket: string;
  inside: Record<string, number>;
  tcp: Record<string, string>;
}

/** Answers its token and environment, what the socket lets it do, and whether TCP reaches the server. */
const prober = (port: number) =>
  nodeFn(`import net from 'node:net';
const attempt = (host) => new Promise((resolve) => {
  const s = net.connect({ host, port: ${port}, timeout: 3000 });
  s.once('connect', () => { s.destroy(); resolve('connected'); });
  s.once('timeout', () => { s.destroy(); resolve('timeout'); });
  s.once('error', (e) => resolve(e.code ?? 'error'));
});
export default async (req, ctx) => {
  console.log('probing from', ctx.function);
  const status = async (path, init) => (await ctx.fetch(path, init)).status;
  const inside = {
    functions: await status('/v1/functions'),
    healthz: await status('/healthz'),
    whoami: await status('/v1/auth/whoami'),
    own: await status('/v1/functions/' + ctx.function + '/objects'),
    ownPut: await status('/v1/functions/' + ctx.function + '/objects/from/inside', { method: 'PUT', body: 'x' }),
    neighbour: await status('/v1/functions/neighbour/objects'),
    neighbourPut: await status('/v1/functions/neighbour/objects/k', { method: 'PUT', body: 'x' }),
    dotdot: await status('/v1/functions/' + ctx.function + '/objects/../../../functions'),
    callNeighbour: await status('/fn/neighbour'),
    callBobs: await status('/fn/bobs'),
  };
  const hosts = JSON.parse(process.env.HOSTS_TO_TRY);
  const tcp = {};
  for (const h of hosts) tcp[h] = await attempt(h);
  return { token: process.env.FERRY_TOKEN, url: process.env.FERRY_API_URL, socket: process.env.FERRY_API_SOCKET, inside, tcp };
};
`);

/** The status of a GET on a Unix socket. */
function statusOn(socketPath: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath, path }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('error', reject);
    req.end();
  });
}

async function probe(name: string): Promise<Probe> {
  const res = await fetch(`${ferry.url}/fn/${name}`);
  const body = (await res.json()) as Probe;
  assert.equal(res.status, 200, JSON.stringify(body));
  seenTokens.push(body.token);
  return body;
}

before(async () => {
  if (skip) return;
  ferry = await startFerry();
  assert.equal((await ferry.api('POST', '/v1/users', { name: 'bob', groups: ['permission:read', 'permission:write', 'permission:execute'] })).status, 201);
  bobToken = ((await (await ferry.api('POST', '/v1/tokens', { user: 'bob' })).json()) as { token: string }).token;
});
after(async () => {
  if (skip) return;
  const serverLog = ferry.output.join('\n');
  const fnLogs = await (await ferry.api('GET', '/v1/functions/tok/logs?limit=1000')).text();
  await disposeFerry(ferry);
  // The leak rule: an instance token never reaches the server's log or a function's log.
  assert.ok(seenTokens.length > 0);
  for (const t of seenTokens) {
    assert.ok(!serverLog.includes(t), 'an instance token is in the server log');
    assert.ok(!fnLogs.includes(t), 'an instance token is in the function logs');
  }
});

test('an instance token may use its own objects and call its group\'s functions, nothing else, on TCP and on the socket', { skip }, async () => {
  const port = Number(new URL(ferry.url).port);
  const hosts = ['127.0.0.1', '10.0.2.2', ...Object.values(networkInterfaces()).flat().filter((a) => a && a.family === 'IPv4' && !a.internal).map((a) => a!.address)];
  const pkg = prober(port);
  pkg['ferry.json'] = JSON.stringify({ ...JSON.parse(pkg['ferry.json'] as string), env: { HOSTS_TO_TRY: JSON.stringify(hosts) } });
  await ferry.deploy('tok', pkg);
  await ferry.deploy('neighbour', nodeFn('export default () => "neighbour";\n', { invoke: 'token' }));
  const bobs = nodeFn('export default () => "bob";\n', { invoke: 'token' });
  const { packFiles } = await import('./support/ferry.js');
  const up = await fetch(`${ferry.url}/v1/functions/bobs/versions`, { method: 'POST', headers: { authorization: `Bearer ${bobToken}`, 'content-type': 'application/gzip' }, body: Buffer.from(await packFiles(bobs)) });
  assert.equal(up.status, 201);

  const p = await probe('tok');
  assert.match(p.token, /^fry_[A-Za-z0-9_-]{40,}$/);
  assert.equal(p.url, 'http://ferry');
  assert.equal(p.socket, '/run/ferry/api.sock');
  assert.deepEqual(p.inside, {
    functions: 403,
    healthz: 403,
    whoami: 403,
    own: 200,
    ownPut: 201,
    neighbour: 404,
    neighbourPut: 404,
    dotdot: 403,
    callNeighbour: 200,
    callBobs: 404,
  });
  // egress (the default): the server's TCP port is out of reach on every address; the socket worked.
  for (const [h, outcome] of Object.entries(p.tcp)) assert.notEqual(outcome, 'connected', `${h}:${port} must be unreachable from the sandbox`);

  // On TCP the token is worth nothing: every documented route refuses it, its own objects too.
  const as = (method: string, path: string, body?: string) => fetch(ferry.url + path, { method, headers: { authorization: `Bearer ${p.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, body });
  const doc = (await (await fetch(`${ferry.url}/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, { security: unknown[]; 'x-ferry-surface': string }>> };
  const checked: string[] = [];
  for (const [template, ops] of Object.entries(doc.paths)) {
    for (const [m, op] of Object.entries(ops)) {
      if (op.security.length === 0) continue; // public
      if (op['x-ferry-surface'] !== 'v1') continue; // invocations: checked below
      const method = m.toUpperCase();
      const body = ['POST', 'PUT', 'PATCH'].includes(method) ? '{}' : undefined;
      const fill = (name: string) => template.replace('{name}', name).replace('{key}', 'probe/k').replace(/\{\w+\}/g, 'x');
      await expectProblem(await as(method, fill('tok'), body), 401, 'invalid-token', `${method} ${template}`);
      checked.push(`${method} ${template}`);
    }
  }
  assert.ok(checked.length > 30, `only ${checked.length} routes checked`);
  await expectProblem(await fetch(`${ferry.url}/fn/neighbour`, { headers: { authorization: `Bearer ${p.token}` } }), 401, 'invalid-token');
  await expectProblem(await fetch(`${ferry.url}/fn/bobs`, { headers: { authorization: `Bearer ${p.token}` } }), 401, 'invalid-token');
});

test('the socket belongs to the sandbox user, 0600; token and socket end with the instance', { skip }, async () => {
  const p = await probe('tok');
  const [inst] = await listInstances(ferry, 'tok');
  const sock = join(ferry.dataDir, 'run', inst!.id, 'api.sock');
  const st = await stat(sock);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, 0o600);
  if (process.getuid?.() === 0) assert.deepEqual([st.uid, st.gid], [2_000_000, 2_000_000]);
  // Its own socket, from the host (the server sets the token; this one is replaced).
  const own = () => statusOn(sock, '/v1/functions/tok/objects');
  assert.equal(await own(), 200);
  assert.equal((await ferry.api('POST', '/v1/functions/tok/versions/v1/stop')).status, 202);
  await waitFor('the socket to go', async () => !(await stat(sock).then(() => true, () => false)));
  await expectProblem(await fetch(`${ferry.url}/v1/functions/tok/objects`, { headers: { authorization: `Bearer ${p.token}` } }), 401, 'invalid-token', 'the token of a stopped instance');
  // The next instance has a token of its own.
  const next = await probe('tok');
  assert.notEqual(next.token, p.token);
});

test('under the process driver the instance API works the same, at the host path', async () => {
  const dev = await startFerry({ args: ['--driver', 'process', '--unsandboxed'] });
  try {
    await dev.deploy('callee', nodeFn('export default async (req) => "called with " + await req.text();\n', { invoke: 'token' }));
    await dev.deploy(
      'dev',
      nodeFn(`export default async (req, ctx) => {
  await ctx.objects.put('k', 'v1', { contentType: 'text/x-dev' });
  const got = await ctx.objects.get('k');
  const called = await ctx.call('callee', { method: 'POST', body: 'hi' });
  return { socket: process.env.FERRY_API_SOCKET, token: process.env.FERRY_TOKEN, text: await got.text(), type: got.contentType, call: await called.text(),
    functions: (await ctx.fetch('/v1/functions')).status };
};
`),
    );
    const res = await fetch(`${dev.url}/fn/dev`);
    const body = (await res.json()) as { socket: string; token: string; text: string; type: string; call: string; functions: number };
    assert.equal(res.status, 200, JSON.stringify(body));
    seenTokens.push(body.token);
    const [inst] = await listInstances(dev, 'dev');
    assert.equal(body.socket, join(dev.dataDir, 'run', inst!.id, 'api.sock'));
    assert.deepEqual({ text: body.text, type: body.type, call: body.call, functions: body.functions }, { text: 'v1', type: 'text/x-dev', call: 'called with hi', functions: 403 });
    assert.equal((await dev.api('POST', '/v1/functions/dev/versions/v1/stop')).status, 202);
    await expectProblem(await fetch(`${dev.url}/v1/functions/dev/objects`, { headers: { authorization: `Bearer ${body.token}` } }), 401, 'invalid-token');
    await waitFor('the socket to go', async () => !(await stat(body.socket).then(() => true, () => false)));
    assert.ok(!dev.output.join('\n').includes(body.token), 'the token is not in the server log');
  } finally {
    await disposeFerry(dev);
  }
});
