/**
 * YFASS services as YFASS runs them: the contents are also at `/.__private_yfass_contents`
 * (a service reading a file by that absolute path), and a service runs only from
 * `/api/deploy` to `/api/kill`: before, and after a kill, a request by host name starts nothing
 * and answers `503 not-running`. Native Ferry functions still start on demand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { rm } from 'node:fs/promises';
import * as tar from 'tar';
import { disposeFerry, packFiles, startFerry, writeFiles, type PackageFiles } from './support/ferry.js';
import { expectProblem, nodeFn } from './support/helpers.js';

const domain = 'yfass.test';

/** A service that answers the file it reads through YFASS's absolute contents path. */
const contents: PackageFiles = {
  'serve-contents': {
    mode: 0o755,
    content: `#!${process.execPath}
const http = require('node:http');
const fs = require('node:fs');
http.createServer((req, res) => res.end(fs.readFileSync('/.__private_yfass_contents/data/message.txt', 'utf8'))).listen(Number(process.env.YFASS_PORT), '127.0.0.1');
`,
  },
  'data/message.txt': 'read by its absolute path',
};
const config = { addr: '127.0.0.1:8081', sandbox: { command: './serve-contents', args: [], envs: { YFASS_PORT: '8081' } } };

async function tarOf(files: PackageFiles): Promise<Uint8Array> {
  const dir = await writeFiles(files);
  try {
    const chunks: Buffer[] = [];
    for await (const c of tar.c({ cwd: dir, portable: true }, Object.keys(files)) as AsyncIterable<Buffer>) chunks.push(c);
    return new Uint8Array(Buffer.concat(chunks));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** GET / with a Host header (fetch does not let a caller set it). */
function byHost(base: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/`, { headers: { host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('yfass: the contents at /.__private_yfass_contents; a service runs only from deploy to kill', async (t) => {
  const ferry = await startFerry({ args: ['--compat', 'yfass', '--domain', domain] });
  t.after(() => disposeFerry(ferry));
  const root = /Bearer <token>\): (\S+)/.exec(ferry.output.find((l) => l.includes('YFASS root token')) ?? '')?.[1];
  assert.ok(root, 'the root token is printed at boot');
  const call = async (method: string, path: string, token: string, body?: unknown): Promise<Response> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body instanceof Uint8Array) headers['content-type'] = 'application/x-tar';
    else if (body !== undefined) headers['content-type'] = 'application/json';
    return fetch(ferry.url + path, { method, headers, body: body instanceof Uint8Array ? (body as BodyInit) : body === undefined ? undefined : JSON.stringify(body) });
  };
  const ok = async (res: Response, what: string): Promise<string> => {
    const text = await res.text();
    assert.equal(res.status, 200, `${what}: ${res.status} ${text}`);
    return text;
  };

  // A YFASS user who is no admin: the contents path is the surface's, not a right of the user.
  await ok(await call('POST', '/api/user/add', root, { name: 'dev', groups: ['permission:read', 'permission:write', 'permission:execute'] }), 'add dev');
  const dev = await ok(await call('POST', '/api/user/request-token', root, { user: 'dev' }), 'token');
  await ok(await call('POST', '/api/upload/contents@a0', dev, await tarOf(contents)), 'upload');
  await ok(await call('PUT', '/api/override/contents@a0', dev, config), 'override');
  const host = `a0.contents.${domain}`;

  // Not deployed: a request starts nothing.
  const before = await byHost(ferry.url, host);
  assert.equal(before.status, 503, `before deploy: ${before.body}`);
  assert.equal((JSON.parse(before.body) as { code: string }).code, 'not-running');
  assert.deepEqual(await (await call('GET', '/api/status/contents@a0', dev)).json(), { running: false });

  await ok(await call('POST', '/api/deploy/contents@a0', dev), 'deploy');
  assert.deepEqual(await byHost(ferry.url, host), { status: 200, body: 'read by its absolute path' });

  await ok(await call('POST', '/api/kill/contents@a0', dev), 'kill');
  const after = await byHost(ferry.url, host);
  assert.equal(after.status, 503, `after kill: ${after.body}`);
  assert.deepEqual(await (await call('GET', '/api/status/contents@a0', dev)).json(), { running: false }, 'the request after kill started nothing');

  await ok(await call('POST', '/api/deploy/contents@a0', dev), 'deploy again');
  assert.equal((await byHost(ferry.url, host)).status, 200);

  // Native functions start on a request as ever, and a non-admin may not ask for a second mount point.
  await ferry.deploy('native', nodeFn('export default () => "on demand";\n'));
  assert.equal(await (await fetch(`${ferry.url}/fn/native`, { method: 'POST' })).text(), 'on demand');
  const asked = await fetch(`${ferry.url}/v1/functions/aliased/versions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${dev}`, 'content-type': 'application/gzip' },
    body: Buffer.from(await packFiles(nodeFn('export default () => "x";\n', { packageAlias: '/.contents' }))),
  });
  await expectProblem(asked, 403, 'forbidden', 'packageAlias as a non-admin');
});
