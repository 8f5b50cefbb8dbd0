/**
 * Ferry as ShortedFaaS (`--compat shortedfaas --deploy-dir DIR`): the seed's two run.json
 * samples (with Debian's real jq), in-language lambda(input, environment) handlers in Node and
 * Python, the exit-code contract of /f, async calls through /a and /r with a callback to a
 * loopback server, /list, and the watched folder: settled deploys, a bad run.json that leaves
 * the previous version serving, removal, and the reconcile at start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { mkdtemp, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { disposeFerry, markSensitive, startFerry, type Ferry } from './support/ferry.js';
import { until } from './support/helpers.js';

const jqRun = '{ "type":"executable", "language":"x86-64", "command":"jq", "arguments":"."}';
const pythonRun = '{ "type":"interpreted", "language":"python", "command":"python", "arguments":"lambda.py"}';

/** Puts a whole folder in the deploy dir at once (written beside it, then renamed in). */
async function place(deployDir: string, name: string, files: Record<string, string>): Promise<void> {
  const tmp = await mkdtemp(join(deployDir, '..', 'stage-'));
  for (const [f, text] of Object.entries(files)) await writeFile(join(tmp, f), text);
  await rm(join(deployDir, name), { recursive: true, force: true });
  await rename(tmp, join(deployDir, name));
}

async function call(f: Ferry, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(f.url + path, { method: 'POST', body, headers });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** Waits for the function to answer /f (it deploys once its folder has settled). */
async function deployed(f: Ferry, name: string): Promise<void> {
  await until(async () => {
    const list = (await (await fetch(`${f.url}/list`)).json()) as Array<{ name: string }>;
    return list.some((e) => e.name === name) || undefined;
  }, 60_000, 200);
}

async function start(deployDir: string, dataDir?: string): Promise<Ferry> {
  return startFerry({ args: ['--compat', 'shortedfaas', '--deploy-dir', deployDir, '--callback-allow', '127.0.0.1'], ...(dataDir ? { dataDir } : {}) });
}

test('ShortedFaaS: the seed samples, lambdas, async, and the watched folder', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'ferry-shorted-'));
  const deployDir = join(root, 'deploy');
  await mkdir(deployDir);
  t.after(() => rm(root, { recursive: true, force: true }));
  await place(deployDir, 'jq', { 'run.json': jqRun });
  await place(deployDir, 'upper', {
    'run.json': pythonRun,
    'lambda.py': 'import sys\ndata = sys.stdin.read()\nif data == "fail":\n    print("not shown")\n    sys.stderr.write("failing on purpose\\n")\n    sys.exit(3)\nprint(data.upper(), end="")\n',
  });
  let f = await start(deployDir);
  t.after(() => disposeFerry(f));
  await deployed(f, 'jq');
  await deployed(f, 'upper');

  await t.test('run.json for an executable: jq . with the body on stdin; a failing exit is 500 with no body', async () => {
    assert.deepEqual(await call(f, '/f/jq', '{"a":[1,2]}').then((r) => [r.status, r.text]), [200, '{\n  "a": [\n    1,\n    2\n  ]\n}\n']);
    const bad = await call(f, '/f/jq', 'not json');
    assert.equal(bad.status, 500);
    assert.equal(bad.text, '', 'no body on a non-zero exit');
  });

  await t.test('run.json for a Python file: a full program per call; exit 3 is 500 with no body', async () => {
    assert.deepEqual(await call(f, '/f/upper', 'hello').then((r) => [r.status, r.text]), [200, 'HELLO']);
    const failed = await call(f, '/f/upper', 'fail');
    assert.deepEqual([failed.status, failed.text], [500, '']);
  });

  await t.test('lambda(input, environment) in Node and Python sets environment.code; accepts answers 415', async () => {
    await place(deployDir, 'nodelambda', {
      'run.json': '{"type": "interpreted", "language": "node", "command": "node", "arguments": "lambda.js", "accepts": ["text/plain"]}',
      'lambda.js': 'module.exports = function lambda(input, environment) {\n  environment.code = 201;\n  return { input, method: environment.method, type: environment.contentType, accept: environment.accept };\n};\n',
    });
    await place(deployDir, 'pylambda', {
      'run.json': pythonRun,
      'lambda.py': 'def lambda_handler(input, environment):\n    environment.code = 203\n    return "py " + input + " " + environment.accept\n',
    });
    await deployed(f, 'nodelambda');
    await deployed(f, 'pylambda');
    const js = await call(f, '/f/nodelambda', 'abc', { 'content-type': 'text/plain; charset=utf-8', accept: 'application/json' });
    assert.equal(js.status, 201);
    assert.deepEqual(JSON.parse(js.text), { input: 'abc', method: 'POST', type: 'text/plain; charset=utf-8', accept: 'application/json' });
    const refused = await call(f, '/f/nodelambda', '{}', { 'content-type': 'application/json' });
    assert.equal(refused.status, 415);
    const py = await call(f, '/f/pylambda', 'xyz', { accept: 'text/csv' });
    assert.deepEqual([py.status, py.text], [203, 'py xyz text/csv']);
  });

  await t.test('mode cold: every call in a fresh sandbox; warm: the instance is reused', async () => {
    const probe = "-c 'test -e /tmp/seen && echo reused || echo fresh; touch /tmp/seen'";
    await place(deployDir, 'cold', { 'run.json': JSON.stringify({ type: 'executable', command: 'sh', arguments: probe, mode: 'cold' }) });
    await place(deployDir, 'warm', { 'run.json': JSON.stringify({ type: 'executable', command: 'sh', arguments: probe, mode: 'warm' }) });
    await deployed(f, 'cold');
    await deployed(f, 'warm');
    for (let i = 0; i < 3; i++) assert.deepEqual(await call(f, '/f/cold').then((r) => [r.status, r.text]), [200, 'fresh\n'], `cold call ${i}`);
    assert.equal((await call(f, '/f/warm')).text, 'fresh\n');
    assert.equal((await call(f, '/f/warm')).text, 'reused\n');
    // Stopped after its call: nothing of the cold function keeps running.
    await until(async () => ((await (await f.api('GET', '/v1/functions/cold/instances')).json()) as { instances: unknown[] }).instances.length === 0 || undefined, 30_000, 100);
    await rm(join(deployDir, 'cold'), { recursive: true });
    await rm(join(deployDir, 'warm'), { recursive: true });
    await until(async () => (await call(f, '/f/warm')).status === 404 || undefined, 30_000, 100);
  });

  await t.test('/list names the folder functions', async () => {
    const list = (await (await fetch(`${f.url}/list`)).json()) as Array<{ name: string; route: string; kind: string }>;
    assert.deepEqual(list.map((e) => [e.name, e.route, e.kind]).sort(), [
      ['jq', '/f/jq', 'program'],
      ['nodelambda', '/f/nodelambda', 'lambda'],
      ['pylambda', '/f/pylambda', 'lambda'],
      ['upper', '/f/upper', 'program'],
    ]);
  });

  await t.test('/a answers 202 with an id; /r is 202 until done, then 200 with the body; the callback gets output and task-token', async () => {
    const got: string[] = [];
    const hook = createServer((req, res) => {
      let b = '';
      req.on('data', (c: Buffer) => (b += c));
      req.on('end', () => {
        got.push(b);
        res.end();
      });
    });
    hook.listen(0, '127.0.0.1');
    await once(hook, 'listening');
    t.after(() => hook.close());
    const port = (hook.address() as AddressInfo).port;
    const accepted = await call(f, '/a/jq', '{"x":1}', { 'X-Task-Token': 'xx-yy-zz-00', 'X-Callback-Url': `http://127.0.0.1:${port}/done` });
    assert.equal(accepted.status, 202);
    const id = (JSON.parse(accepted.text) as { id: string }).id;
    assert.match(id, /^[0-9a-f]{32}$/);
    const done = await until(async () => {
      const r = await fetch(`${f.url}/r/jq/${id}`);
      const text = await r.text();
      if (r.status === 202) return undefined;
      return { status: r.status, text };
    }, 30_000, 100);
    assert.deepEqual(done, { status: 200, text: '{\n  "x": 1\n}\n' });
    await until(async () => got.length > 0 || undefined, 30_000, 100);
    const body = JSON.parse(got[0]!) as Record<string, unknown>;
    assert.equal(body.output, '{\n  "x": 1\n}\n');
    assert.equal(body['task-token'], 'xx-yy-zz-00');
    // Another function's name, or an unknown id: 404.
    assert.equal((await fetch(`${f.url}/r/upper/${id}`)).status, 404);
    // A lambda called async defaults to 202 as its own code; its result reads back as 200.
    const failing = await call(f, '/a/upper', 'fail');
    const fid = (JSON.parse(failing.text) as { id: string }).id;
    const r = await until(async () => {
      const res = await fetch(`${f.url}/r/upper/${fid}`);
      return res.status === 202 ? undefined : { status: res.status, text: await res.text() };
    }, 60_000, 200);
    assert.deepEqual(r, { status: 500, text: '' });
  });

  await t.test('a bad run.json is logged naming the file and the previous version keeps serving', async () => {
    await place(deployDir, 'jq', { 'run.json': '{ not json' });
    await until(async () => f.output.some((l) => l.includes(join(deployDir, 'jq', 'run.json')) && l.includes('not JSON')) || undefined, 30_000, 100);
    assert.equal((await call(f, '/f/jq', '1')).status, 200);
    await place(deployDir, 'missing', { 'run.json': '{"type": "executable", "command": "no-such-program-anywhere", "arguments": ""}' });
    await until(async () => f.output.some((l) => l.includes(join(deployDir, 'missing')) && l.includes('no-such-program-anywhere')) || undefined, 30_000, 100);
    assert.equal((await call(f, '/f/missing', '1')).status, 404);
  });

  await t.test('a folder removed while it is copied is never deployed', async () => {
    await mkdir(join(deployDir, 'half'));
    await writeFile(join(deployDir, 'half', 'run.json'), jqRun);
    await rm(join(deployDir, 'half'), { recursive: true });
    await place(deployDir, 'after', { 'run.json': jqRun });
    await deployed(f, 'after');
    assert.equal((await call(f, '/f/half', '1')).status, 404);
    assert.ok(!f.output.some((l) => l.includes(join(deployDir, 'half'))), 'nothing about it in the log');
    assert.equal((await f.api('GET', '/v1/functions/half')).status, 404);
  });

  await t.test('removing a folder removes the function', async () => {
    await rm(join(deployDir, 'pylambda'), { recursive: true });
    await until(async () => (await call(f, '/f/pylambda', 'x')).status === 404 || undefined, 30_000, 100);
  });

  await t.test('at start the folder is reconciled: gone folders removed, unchanged ones not deployed again', async () => {
    const before = (await (await f.api('GET', '/v1/functions/upper/versions')).json()) as { versions: Array<{ version: string }> };
    const dataDir = f.dataDir;
    await f.stop();
    await rm(join(deployDir, 'nodelambda'), { recursive: true });
    f = await start(deployDir, dataDir);
    await until(async () => (await call(f, '/f/nodelambda', 'x', { 'content-type': 'text/plain' })).status === 404 || undefined, 30_000, 100);
    assert.deepEqual(await call(f, '/f/upper', 'again').then((r) => [r.status, r.text]), [200, 'AGAIN']);
    const after = (await (await f.api('GET', '/v1/functions/upper/versions')).json()) as { versions: Array<{ version: string }> };
    assert.deepEqual(after.versions.map((v) => v.version), before.versions.map((v) => v.version));
  });
});

test('ShortedFaaS and tinyFaaS on one listener: the start fails naming both', async () => {
  await assert.rejects(startFerry({ args: ['--compat', 'tinyfaas,shortedfaas'] }), (err: Error) => /shortedfaas/.test(err.message) && /tinyfaas/.test(err.message) && /\/list/.test(err.message));
});

test('--shortedfaas-auth without ShortedFaaS_SharedSecret: the start fails, naming the variable', async () => {
  await assert.rejects(startFerry({ args: ['--compat', 'shortedfaas', '--shortedfaas-auth'] }), /ShortedFaaS_SharedSecret/);
});

test('ShortedFaaS auth: SharedSecret or a Ferry token on every route; /history and /history/{id}', async (t) => {
  const secret = 'shorted-secret-0123456789';
  markSensitive(secret);
  const root = await mkdtemp(join(tmpdir(), 'ferry-shorted-'));
  const deployDir = join(root, 'deploy');
  await mkdir(deployDir);
  t.after(() => rm(root, { recursive: true, force: true }));
  await place(deployDir, 'headers', {
    'run.json': '{"type": "interpreted", "language": "node", "command": "node", "arguments": "lambda.js"}',
    'lambda.js': 'module.exports = (input, environment) => environment.headers;\n',
  });
  await place(deployDir, 'check', {
    'run.json': '{"type": "executable", "command": "jq", "arguments": "-e .ok", "recordPayloads": true}',
  });
  const f = await startFerry({ args: ['--compat', 'shortedfaas', '--deploy-dir', deployDir, '--shortedfaas-auth'], env: { ShortedFaaS_SharedSecret: secret } });
  t.after(() => disposeFerry(f));
  const shared = { authorization: `SharedSecret ${secret}` };
  await until(async () => {
    const list = (await (await fetch(`${f.url}/list`, { headers: shared })).json()) as Array<{ name: string }>;
    return list.length === 2 || undefined;
  }, 60_000, 200);

  await t.test('no credential, a wrong secret, a wrong token: 401 on every route', async () => {
    const cases: Array<Record<string, string>> = [{}, { authorization: 'SharedSecret nope' }, { authorization: `SharedSecret ${secret}x` }, { authorization: 'Bearer fy_nope' }];
    for (const headers of cases) {
      assert.equal((await call(f, '/f/headers', 'x', headers)).status, 401);
      assert.equal((await call(f, '/a/headers', 'x', headers)).status, 401);
      for (const path of ['/list', '/history', '/history/x', '/r/headers/0123456789abcdef0123456789abcdef']) assert.equal((await fetch(f.url + path, { headers })).status, 401, path);
    }
  });

  await t.test('the secret or an admin token pass; the secret never reaches the function', async () => {
    const seen = await call(f, '/f/headers', 'x', shared);
    assert.equal(seen.status, 200);
    assert.ok(!seen.text.includes(secret), seen.text);
    assert.ok(!('authorization' in (JSON.parse(seen.text) as object)));
    assert.equal((await call(f, '/f/headers', 'x', { authorization: `Bearer ${f.token}` })).status, 200);
  });

  await t.test('/history lists the calls with exit codes; /history/{id} has stderr and, with auth, the bodies', async () => {
    assert.equal((await call(f, '/f/check', '{"ok": true}', shared)).status, 200);
    const failed = await call(f, '/f/check', '{"ok": false}', shared);
    assert.deepEqual([failed.status, failed.text], [500, '']);
    const entries = (await until(async () => {
      const list = (await (await fetch(`${f.url}/history`, { headers: shared })).json()) as Array<{ id: string; function: string; exitCode: number | null; status: number }>;
      const mine = list.filter((e) => e.function === 'check');
      return mine.length === 2 ? mine : undefined;
    }, 10_000, 100))!;
    assert.deepEqual(entries.map((e) => [e.status, e.exitCode]), [[500, 1], [200, 0]]);
    const one = (await (await fetch(`${f.url}/history/${entries[0]!.id}`, { headers: shared })).json()) as Record<string, unknown>;
    assert.equal(one.exitCode, 1);
    assert.deepEqual(one.http, { status: 500 });
    assert.equal(one.input, '{"ok": false}');
    assert.ok((one.errors as string[]).some((l) => l.includes('exit status 1')), JSON.stringify(one.errors));
    assert.equal((await fetch(`${f.url}/history/nope`, { headers: shared })).status, 404);
  });
});
