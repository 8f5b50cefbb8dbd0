/**
 * The commands that reach the rest of the API, against the real server: owners, versions,
 * config set, start/stop/instances, aliases rm, schedules, invocation history, executions,
 * whoami, invites, secrets create, traffic and the OpenAPI document.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFerry, disposeFerry, type Ferry } from './support/ferry.js';
import { nodeFn, runCli, show, until } from './support/helpers.js';

let ferry: Ferry;
before(async () => {
  ferry = await startFerry({ args: ['--driver', 'process', '--unsandboxed'] });
  await ferry.deploy('greet', nodeFn(`export default (req, ctx) => 'hello ' + (process.env.GREETING ?? '-') + ' from ' + ctx.version;\n`, { retries: 0 }));
  await ferry.deploy('greet', nodeFn(`// two\nexport default (req, ctx) => 'hello ' + (process.env.GREETING ?? '-') + ' from ' + ctx.version;\n`, { retries: 0 }));
});
after(async () => {
  await disposeFerry(ferry);
});

const cli = (args: string[], input?: string) => runCli(args, { env: { FERRY_URL: ferry.url, FERRY_TOKEN: ferry.token }, ...(input !== undefined ? { input } : {}) });
async function ok(...args: string[]): Promise<string> {
  const r = await cli(args);
  assert.equal(r.code, 0, show(r));
  return r.stdout;
}

test('functions list shows the owner; get and owner', async () => {
  assert.match(await ok('functions'), /^NAME\s+OWNER\s+LATEST\s+VERSIONS[^\n]*\ngreet\s+singular:admin\s+v2\s+2/m);
  assert.equal(JSON.parse(await ok('functions', 'get', 'greet', '--json')).owner, 'singular:admin');
  assert.match(await ok('functions', 'owner', 'greet', 'custom:team'), /greet is owned by custom:team/);
  assert.match(await ok('functions', 'list'), /^greet\s+custom:team\s/m);
  await ok('functions', 'owner', 'greet', 'singular:admin');
  const r = await cli(['functions', 'owner', 'greet', 'nonsense']);
  assert.equal(r.code, 1, show(r));
  assert.match(r.stderr, /^ferry: .*\(\S+\)\n$/);
});

test('versions get, build-log; config set changes env and scaling, config get shows them', async () => {
  assert.equal(JSON.parse(await ok('versions', 'get', 'greet', 'v1', '--json')).version, 'v1');
  assert.equal((await cli(['versions', 'build-log', 'greet', 'v1'])).code, 0);
  assert.match(await ok('config', 'set', 'greet@v2', 'env.GREETING=hi', 'scaling.maxInstances=3', 'limits.memoryMb=200'), /greet@v2: set env, scaling, limits/);
  assert.match(await ok('config', 'set', 'greet', 'env.OTHER=x'), /greet@v2: set env/);
  const config = JSON.parse(await ok('config', 'get', 'greet@v2')) as { env: Record<string, string>; scaling: { maxInstances: number }; limits: { memoryMb: number } };
  assert.deepEqual([config.env.GREETING, config.env.OTHER, config.scaling.maxInstances, config.limits.memoryMb], ['hi', 'x', 3, 200], 'env.OTHER added to env, not replacing GREETING');
  assert.equal(await ok('invoke', 'greet@v2'), 'hello hi from v2');
  const bad = await cli(['config', 'set', 'greet', 'scaling.maxInstances=many']);
  assert.equal(bad.code, 1, show(bad));
  assert.match(bad.stderr, /\(invalid-body\)/);
  assert.equal((await cli(['config', 'set', 'greet', 'nonsense'])).code, 2);
});

test('start, instances, stop', async () => {
  assert.match(await ok('start', 'greet@v1'), /greet@v1 started/);
  assert.match(await ok('instances', 'greet'), /\bv1\s+(starting|ready)\b/);
  assert.match(await ok('stop', 'greet@v1'), /greet@v1 stopped/);
  const none = await until(async () => JSON.parse(await ok('instances', 'greet', '--json')).instances.filter((i: { version: string }) => i.version === 'v1').length === 0);
  assert.ok(none, 'stop ended the v1 instances');
  assert.match(await ok('pool'), /^pool: (on|off)/);
});

test('aliases rm deletes an alias and keeps its version', async () => {
  await ok('aliases', 'set', 'greet', 'prod', 'v1');
  assert.match(await ok('start', 'greet@prod'), /greet@v1 started/, 'an alias names its version');
  assert.match(await ok('aliases', 'rm', 'greet', 'prod'), /deleted alias greet@prod/);
  assert.match(await ok('aliases', 'list', 'greet'), /No aliases/);
  assert.match(await ok('versions', 'list', 'greet'), /^v1\s/m);
});

test('invocations list and get show the history with status and latency', async () => {
  await ok('invoke', 'greet@v1');
  const list = JSON.parse(await ok('invocations', '--function', 'greet', '--json')) as { invocations: Array<{ id: string; status: number; durationMs: number }> };
  assert.ok(list.invocations.length >= 1);
  const first = list.invocations[0]!;
  assert.equal(first.status, 200);
  assert.match(await ok('invocations', 'get', first.id), new RegExp(`^${first.id}\\s.*\\sgreet\\s+v\\d\\s+\\w+\\s+200\\s`, 'm'));
});

test('schedules set, list, get, rm', async () => {
  assert.match(await ok('schedules', 'set', 'greet', 'nightly', '0 3 * * *', '-d', '{"n":1}'), /schedule nightly '0 3 \* \* \*', next run \d{4}-/);
  assert.match(await ok('schedules', 'list', 'greet'), /^nightly\s+0 3 \* \* \*/m);
  assert.match(await ok('schedules', 'get', 'greet', 'nightly'), /body: \{"n":1\}/);
  await ok('schedules', 'rm', 'greet', 'nightly');
  assert.match(await ok('schedules', 'list', 'greet'), /No schedules/);
});

test('executions start (and --wait), result, callback-key', async () => {
  const id = (await ok('executions', 'start', 'greet@v1', '-d', 'x')).trim();
  assert.match(id, /^[0-9a-f]{32}$/);
  assert.match(await ok('executions', 'get', id, '--wait'), /status:\s+succeeded/);
  assert.equal(await ok('executions', 'result', id), 'hello - from v1');
  assert.equal(await ok('executions', 'start', 'greet@v2', '--wait'), 'hello hi from v2');
  assert.match(await ok('executions', 'callback-key', 'greet'), /^\S{16,}\n$/);
});

test('whoami, invites create, secrets create, openapi', async () => {
  assert.match(await ok('whoami'), /^admin \(.*singular:admin\)$/m);
  assert.match(await ok('invites', 'create', '--days', '1'), /^\S{8,}\n$/);
  assert.match(await ok('secrets', 'create', 'CLI_MANAGE_KEY', '--from-env', 'PATH'), /secret CLI_MANAGE_KEY created/);
  const again = await cli(['secrets', 'create', 'CLI_MANAGE_KEY', '--from-env', 'PATH']);
  assert.equal(again.code, 1, show(again));
  assert.equal(JSON.parse(await ok('openapi')).openapi, '3.1.0');
});

test("traffic: every function's last minutes, and one function per minute", async () => {
  await ok('invoke', 'greet');
  // The series counts a call when its answer is done; the CLI's invoke has read it by then.
  const all = await ok('traffic');
  assert.match(all, /^FUNCTION\s+REQUESTS\s+REQ\/S\s+ERRORS\s+COLD\s+P50 MS\s+P99 MS\n/);
  const row = /^greet\s+(\d+)\s/m.exec(all);
  assert.ok(row && Number(row[1]) >= 1, all);
  const one = JSON.parse(await ok('traffic', 'greet', '--minutes', '5', '--json')) as { function: string; series: Array<{ requests: number }> };
  assert.equal(one.function, 'greet');
  assert.equal(one.series.length, 5);
  assert.ok(one.series.reduce((n, p) => n + p.requests, 0) >= 1);
  const bad = await cli(['traffic', '--minutes', '0']);
  assert.equal(bad.code, 1, show(bad));
  assert.match(bad.stderr, /\(invalid-query\)/);
});
