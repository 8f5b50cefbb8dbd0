/**
 * The seed-003 routes the flow tests do not walk, on the real server with Ferry's default
 * (closed) registration: a registration refused unless an admin asks; the users, by UUID, to
 * themselves and to an admin; a secret listed, replaced and deleted; an object uploaded by the
 * short path, listed, downloaded and deleted by the long one; a function read and deleted. And
 * the seed's `SERVER_ADDRESS` moves the real server's listener.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, startFerry, disposeFerry, markSensitive, packFiles, type Ferry } from './support/ferry.js';
import { seedClient, type SeedClient } from './support/seed003-client.js';

let f: Ferry;
let seed: SeedClient;
before(async () => {
  f = await startFerry({ args: ['--compat', 'seed003'] });
  seed = seedClient(f);
});
after(async () => {
  if (f) await disposeFerry(f);
});

/** Made by the admin (registration is closed), then logged in: its id and token. */
async function account(username: string): Promise<{ id: string; token: string }> {
  const password = `pw-${username}-0123456789`;
  markSensitive(password);
  const made = await seed.call('POST', '/auth/register', f.token, { username, password, role: 'user' });
  assert.equal(made.status, 201, JSON.stringify(made.json));
  const login = await seed.call('POST', '/auth/login', undefined, { username, password });
  assert.equal(login.status, 200, JSON.stringify(login.json));
  return { id: made.json.id as string, token: login.json.token as string };
}

test('closed registration: refused to anyone but an admin; users by UUID, to themselves and to an admin', async () => {
  const open = await seed.call('POST', '/auth/register', undefined, { username: 'walk-in', password: 'pw-walk-in-0123456789' });
  assert.deepEqual([open.status, open.json.error], [403, 'registration_closed']);
  const uma = await account('uma');
  const vic = await account('vic');
  assert.match(uma.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  const me = await seed.call('GET', `/api/users/${uma.id}`, uma.token);
  assert.deepEqual([me.status, me.json.id, me.json.username, me.json.role], [200, uma.id, 'uma', 'user']);
  assert.equal((await seed.call('GET', `/api/users/${uma.id}`, vic.token)).status, 403);
  const all = await seed.call('GET', '/api/users', f.token);
  assert.equal(all.status, 200, JSON.stringify(all.json));
  const listed = new Map((all.json.users as Array<{ id: string; username: string }>).map((u) => [u.username, u.id]));
  assert.deepEqual([listed.get('uma'), listed.get('vic')], [uma.id, vic.id]);
});

test('a secret: listed without its value, replaced, deleted', async () => {
  const { token } = await account('wes');
  markSensitive('wes-first-value', 'wes-second-value');
  const made = await seed.call('POST', '/api/secrets', token, { name: 'API_KEY', value: 'wes-first-value' });
  assert.equal(made.status, 201, JSON.stringify(made.json));
  const id = made.json.id as string;
  const list = await seed.call('GET', '/api/secrets', token);
  assert.deepEqual(list.json.secrets, [made.json]);
  const put = await seed.call('PUT', `/api/secrets/${id}`, token, { value: 'wes-second-value' });
  assert.deepEqual([put.status, put.json.id, put.json.name, put.json.value], [200, id, 'API_KEY', undefined]);
  assert.equal((await seed.call('DELETE', `/api/secrets/${id}`, token)).status, 204);
  assert.deepEqual([(await seed.call('GET', `/api/secrets/${id}`, token)).status, (await seed.call('GET', '/api/secrets', token)).json.secrets], [404, []]);
});

test("a function's objects by both paths, and the function read and deleted", async () => {
  const { token } = await account('xia');
  const form = new FormData();
  form.set('name', 'files');
  form.set('description', 'keeps files');
  form.set('file', new Blob([new Uint8Array(await packFiles({ 'main.py': 'print("{}")\n' }))], { type: 'application/gzip' }), 'f.tar.gz');
  const fn = await seed.call('POST', '/api/functions', token, form);
  assert.equal(fn.status, 201, JSON.stringify(fn.json));
  const id = fn.json.id as string;
  assert.deepEqual((await seed.call('GET', `/api/functions/${id}`, token)).json, fn.json);

  const upload = new FormData();
  upload.set('file', new Blob(['%PDF-1.4 seed'], { type: 'application/pdf' }), 'PRINCE2.pdf');
  assert.equal((await seed.call('POST', `/api/function-objects/${id}/PRINCE2`, token, upload)).status, 201);
  const listed = await seed.call('GET', `/api/function-objects/${id}/objects`, token);
  assert.deepEqual((listed.json.objects as Array<{ name: string; content_type: string }>).map((o) => [o.name, o.content_type]), [['PRINCE2', 'application/pdf']]);
  const got = await fetch(`${f.url}/api/function-objects/${id}/objects/PRINCE2`, { headers: { authorization: `Bearer ${token}` } });
  assert.deepEqual([got.status, got.headers.get('content-type'), await got.text()], [200, 'application/pdf', '%PDF-1.4 seed']);
  assert.equal((await seed.call('DELETE', `/api/function-objects/${id}/objects/PRINCE2`, token)).status, 204);
  assert.equal((await seed.call('GET', `/api/function-objects/${id}/PRINCE2`, token)).status, 404);

  assert.equal((await seed.call('DELETE', `/api/functions/${id}`, token)).status, 200);
  const gone = await seed.call('GET', `/api/functions/${id}`, token);
  assert.deepEqual([gone.status, gone.json.error], [404, 'function_not_found']);
  assert.deepEqual((await seed.call('GET', '/api/functions', token)).json.functions, []);
});

/** A port nothing listens on now. */
async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as { port: number };
  s.close();
  await once(s, 'close');
  return port;
}

test("SERVER_ADDRESS: the seed's variable sets the real server's address and port", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'ferry-test-'));
  const port = await freePort();
  const proc = spawn(process.execPath, [cliPath, 'server', '--data-dir', dataDir], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', FERRY_COMPAT: 'seed003', SERVER_ADDRESS: `127.0.0.1:${port}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let out = '';
    const listening = new Promise<string>((resolve, reject) => {
      proc.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /Ferry listening on (http:\/\/[^"\s]+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      proc.once('exit', (code) => reject(new Error(`exited (${code}) before listening: ${out}`)));
    });
    assert.equal(await listening, `http://127.0.0.1:${port}`);
    const anonymous = await fetch(`http://127.0.0.1:${port}/api/functions`);
    const body = (await anonymous.json()) as Record<string, unknown>;
    assert.deepEqual([anonymous.status, typeof body.error, typeof body.message], [401, 'string', 'string']);
  } finally {
    proc.kill('SIGTERM');
    if (proc.exitCode === null && proc.signalCode === null) await once(proc, 'exit');
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('--surface-listen seed003=ADDR:PORT: the routes on a listener of their own, as its gateway listened apart', async () => {
  const port = await freePort();
  const apart = await startFerry({ args: ['--compat', 'seed003', '--surface-listen', `seed003=127.0.0.1:${port}`] });
  try {
    const own = await fetch(`http://127.0.0.1:${port}/api/functions`);
    const body = (await own.json()) as Record<string, unknown>;
    assert.deepEqual([own.status, typeof body.error, typeof body.message], [401, 'string', 'string']);
    const main = await fetch(`${apart.url}/api/functions`);
    await main.text();
    assert.equal(main.status, 404, 'not on the main listener too');
  } finally {
    await disposeFerry(apart);
  }
});
