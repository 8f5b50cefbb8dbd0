/**
 * A restart on the same data dir: functions, versions, aliases, PATCHed configuration and logs
 * survive a SIGTERM (exit 0) and a new start; the admin token is kept and not printed again.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startFerry, disposeFerry, type Ferry } from './support/ferry.js';
import { nodeFn, until } from './support/helpers.js';

/** The server running now (both starts share one data dir, removed at the end). */
let current: Ferry | undefined;
after(async () => {
  if (current) await disposeFerry(current);
});

const source = (tag: string): string =>
  `// ${tag}\nexport default (req, ctx) => { console.log("persist-marker " + ctx.version); return ctx.version + " " + (process.env.X ?? "unset"); };\n`;

async function call(f: Ferry, path: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${f.url}${path}`, { headers });
  const text = await res.text();
  assert.equal(res.status, 200, `${path}: ${res.status} ${text}`);
  return text;
}

async function getJson<T>(f: Ferry, path: string): Promise<T> {
  const res = await f.api('GET', path);
  const text = await res.text();
  assert.equal(res.status, 200, `${path}: ${text}`);
  return JSON.parse(text) as T;
}

test('functions, versions, aliases, patched env, logs and the admin token survive a restart', async () => {
  // ---- first start
  const first = await startFerry();
  current = first;
  const dataDir = first.dataDir;
  assert.ok(first.output.some((l) => l.includes(first.token)), 'the first start prints the admin token');

  await first.deploy('keep', nodeFn(source('one'), { env: { X: 'manifest' } }));
  await first.deploy('keep', nodeFn(source('two'), { env: { X: 'manifest' } }));
  assert.equal((await first.api('PUT', '/v1/functions/keep/aliases/prod', { version: 'v1' })).status, 200);
  assert.equal((await first.api('PUT', '/v1/functions/keep/aliases/half', { weights: { v1: 1, v2: 1 } })).status, 200);
  const patch = await first.api('PATCH', '/v1/functions/keep/versions/v2', { env: { X: 'patched' }, scaling: { maxInstances: 2 } });
  assert.equal(patch.status, 200, await patch.text());
  assert.equal(await call(first, '/fn/keep@prod'), 'v1 manifest');
  assert.equal(await call(first, '/fn/keep'), 'v2 patched');

  const tokenFile = join(dataDir, 'admin-token');
  const tokenBefore = await readFile(tokenFile, 'utf8');
  const statBefore = await stat(tokenFile);
  assert.equal(statBefore.mode & 0o777, 0o600);
  const fnBefore = await getJson<Record<string, unknown>>(first, '/v1/functions/keep');
  const versionsBefore = await getJson<{ versions: unknown[] }>(first, '/v1/functions/keep/versions');
  const aliasesBefore = await getJson<{ aliases: unknown[] }>(first, '/v1/functions/keep/aliases');
  // The marker lines are in the logs before the stop.
  const logged = await until(async () => (await (await first.api('GET', '/v1/functions/keep/logs')).text()).includes('persist-marker v2'), 5_000);
  assert.ok(logged, 'no log line before the restart');

  // ---- stop: SIGTERM drains and exits 0
  const code = await first.stop('SIGTERM');
  assert.equal(code, 0, `exit code on SIGTERM:\n${first.output.slice(-20).join('\n')}`);
  await assert.rejects(fetch(`${first.url}/healthz`), 'the first server still answers after its exit');

  // ---- second start on the same data dir
  const second = await startFerry({ dataDir });
  current = second;
  assert.equal(await readFile(tokenFile, 'utf8'), tokenBefore, 'the admin token file changed');
  const statAfter = await stat(tokenFile);
  assert.equal(statAfter.mode & 0o777, 0o600);
  assert.equal(statAfter.mtimeMs, statBefore.mtimeMs, 'the admin token file was rewritten');
  assert.equal(second.token, first.token);
  assert.ok(!second.output.some((l) => l.includes(first.token)), 'the second start printed the token');
  assert.ok(!second.output.some((l) => /admin token/i.test(l)), `the second start announced a new token:\n${second.output.join('\n')}`);

  // The first start's token works on the second server.
  const withOld = await fetch(`${second.url}/v1/functions`, { headers: { authorization: `Bearer ${first.token}` } });
  assert.equal(withOld.status, 200, await withOld.text());

  // Everything is still there, as it was.
  assert.deepEqual(await getJson(second, '/v1/functions/keep'), { ...fnBefore, url: `${second.url}/fn/keep` });
  const versionsAfter = await getJson<{ versions: Array<Record<string, unknown>> }>(second, '/v1/functions/keep/versions');
  assert.deepEqual(
    versionsAfter.versions,
    (versionsBefore.versions as Array<Record<string, unknown>>).map((v) => ({ ...v, url: `${second.url}/fn/keep@${String(v.version)}` })),
  );
  const aliasesAfter = await getJson<{ aliases: Array<Record<string, unknown>> }>(second, '/v1/functions/keep/aliases');
  assert.deepEqual(
    aliasesAfter.aliases,
    (aliasesBefore.aliases as Array<Record<string, unknown>>).map((a) => ({ ...a, url: `${second.url}/fn/keep@${String(a.alias)}` })),
  );
  const v2 = await getJson<{ override: { env: Record<string, string>; scaling: { maxInstances: number } }; config: { env: Record<string, string> } }>(second, '/v1/functions/keep/versions/v2');
  assert.deepEqual(v2.override.env, { X: 'patched' });
  assert.equal(v2.override.scaling.maxInstances, 2);

  // ... and invocable: alias, latest with the patched env, explicit versions, the split.
  assert.equal(await call(second, '/fn/keep@prod'), 'v1 manifest');
  assert.equal(await call(second, '/fn/keep'), 'v2 patched');
  assert.equal(await call(second, '/fn/keep@latest'), 'v2 patched');
  assert.equal(await call(second, '/fn/keep@v1'), 'v1 manifest');
  const split = new Set<string>();
  for (let i = 0; i < 4; i++) split.add(await call(second, '/fn/keep@half'));
  assert.deepEqual([...split].sort(), ['v1 manifest', 'v2 patched']);

  // Logs from before the restart are still there.
  const logs = await (await second.api('GET', '/v1/functions/keep/logs?limit=10000')).text();
  assert.ok(logs.split('\n').filter((l) => l.includes('persist-marker v2')).length >= 2, 'log lines of the first run are gone');

  // Numbering continues after the restart.
  assert.equal((await second.deploy('keep', nodeFn(source('three')))).version, 'v3');
  assert.equal(await call(second, '/fn/keep'), 'v3 unset');

  const code2 = await second.stop('SIGTERM');
  assert.equal(code2, 0);
});
