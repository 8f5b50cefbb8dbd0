/**
 * ShortedFaaS's `/r` for a function that needs a token (`invoke: "token"` in its folder's
 * ferry.json): its results are read with a Ferry bearer token of a reader of the function; no
 * token answers 401, a token of someone who may not read it 404, as if there were nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { disposeFerry, markSensitive, startFerry, type Ferry } from './support/ferry.js';
import { expectProblem, until } from './support/helpers.js';

async function userToken(f: Ferry, name: string, groups: string[]): Promise<string> {
  const password = `${name}-password-0123`;
  markSensitive(password);
  assert.equal((await f.api('POST', '/v1/users', { name, password, groups })).status, 201);
  return ((await (await f.api('POST', '/v1/tokens', { user: name, days: 1 })).json()) as { token: string }).token;
}

test('ShortedFaaS /r: results of a token-invoked function for its readers only', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'ferry-shorted-token-'));
  const deployDir = join(root, 'deploy');
  await mkdir(deployDir);
  t.after(() => rm(root, { recursive: true, force: true }));
  const f = await startFerry({ args: ['--compat', 'shortedfaas', '--deploy-dir', deployDir, '--compat-user', 'deployer'] });
  t.after(() => disposeFerry(f));
  const deployer = await userToken(f, 'deployer', ['permission:read', 'permission:write', 'permission:execute']);
  const outsider = await userToken(f, 'outsider', ['permission:read', 'permission:execute']);

  // The folder arrives once its owner exists (one rename: it is whole when it appears).
  const stage = join(root, 'stage');
  await mkdir(stage);
  await writeFile(join(stage, 'ferry.json'), JSON.stringify({ runtime: 'node', handler: 'index.mjs', invoke: 'token' }));
  await writeFile(join(stage, 'index.mjs'), 'export default async (req) => `secret result for ${await req.text()}`;\n');
  await rename(stage, join(deployDir, 'private'));
  await until(async () => ((await (await fetch(`${f.url}/list`)).json()) as unknown[]).length === 1 || undefined, 60_000, 200);

  const asked = await fetch(`${f.url}/a/private`, { method: 'POST', body: 'bob', headers: { authorization: `Bearer ${deployer}` } });
  assert.equal(asked.status, 202, await asked.clone().text());
  const { id } = (await asked.json()) as { id: string };
  const read = (token?: string): Promise<Response> => fetch(`${f.url}/r/private/${id}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const done = await until(async () => {
    const r = await read(deployer);
    return r.status === 200 ? r : (await r.body?.cancel(), undefined);
  }, 30_000, 100);
  assert.ok(done, 'a reader gets the result through /r');
  assert.equal(await done.text(), 'secret result for bob');
  assert.equal(await (await read(f.token)).text(), 'secret result for bob', 'an admin reads every function');

  await expectProblem(await read(), 401, 'unauthorized', 'no token');
  await expectProblem(await read(outsider), 404, 'execution-not-found', 'a token of someone who may not read the function');
  assert.equal((await read('fry_not-a-token-this-server-made')).status, 401, 'a token this server did not make');
});
