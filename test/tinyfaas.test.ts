/**
 * Ferry as a drop-in tinyFaaS (`ferry tinyfaas`), driven by tinyFaaS's own management scripts
 * (test/tinyfaas/scripts: zip + base64 + curl) and functions (test/tinyfaas/fns), with its HTTP
 * endpoint on a port of its own: the three runtimes' contracts, async calls, re-upload with no
 * failed call, uploadURL and its address policy, bad input that leaves nothing behind, and the
 * start and stop of the command itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { makeZip } from './support/archive-writers.js';
import { tinyfaasOptions } from '../src/cli/commands/tinyfaas.js';
import { runCli, show, until } from './support/helpers.js';
import { processesMentioning } from './support/procs.js';
import { disposeTinyFerry, freePort, startTinyFerry, type TinyFerry } from './support/tinyfaas.js';
import { packFiles } from './support/ferry.js';

const noOtherEndpoints = { COAP_PORT: '-1', GRPC_PORT: '-1' };

async function call(f: TinyFerry, name: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(`${f.http}/${name}`, { method: 'POST', body, headers });
  return { status: res.status, text: await res.text() };
}

/** The function's instances, through Ferry's own API. */
async function instancesOf(f: TinyFerry, name: string): Promise<Array<{ version: string }>> {
  const res = await fetch(`${f.manager}/v1/functions/${name}/instances`, { headers: { authorization: `Bearer ${f.token}` } });
  return ((await res.json()) as { instances: Array<{ version: string }> }).instances;
}

/** POSTs raw bytes to a management route, as curl --data does. */
async function manage(f: TinyFerry, route: string, body: string, method = 'POST'): Promise<{ status: number; text: string }> {
  const res = await fetch(`${f.manager}/${route}`, { method, body: method === 'GET' ? undefined : body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  return { status: res.status, text: await res.text() };
}

function uploadBody(name: string, env: string, zip: Buffer | string, threads = 1): string {
  return JSON.stringify({ name, env, threads, zip: typeof zip === 'string' ? zip : zip.toString('base64') });
}

/** What the server keeps of packages: every entry of the package store, staging included. */
async function storedPackages(f: TinyFerry): Promise<string[]> {
  const dir = join(f.dataDir, 'packages');
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    out.push(e.name);
    if (e.isDirectory() && e.name.startsWith('.')) for (const s of await readdir(join(dir, e.name))) out.push(`${e.name}/${s}`);
  }
  return out.sort();
}

test('ferry tinyfaas: tinyFaaS scripts and functions work unchanged', async (t) => {
  const httpPort = await freePort();
  const f = await startTinyFerry({ env: { HTTP_PORT: String(httpPort), ...noOtherEndpoints }, args: ['--callback-allow', '127.0.0.1', '--archive-max-bytes', '1MiB'] });
  t.after(() => disposeTinyFerry(f));
  assert.equal(f.httpPort, httpPort, 'the HTTP endpoint listens on HTTP_PORT');

  await t.test('an echo function in each runtime; the answer lists the HTTP endpoint as tinyFaaS prints it', async () => {
    assert.equal(await f.script('upload.sh', 'fns/echo-js', 'echojs', 'nodejs', '1'), `http://:${httpPort}/echojs\n`);
    assert.equal(await f.script('upload.sh', 'fns/echo', 'echo', 'python3', '1'), `http://:${httpPort}/echo\n`);
    assert.equal(await f.script('upload.sh', 'fns/echo-binary', 'echoBinary', 'binary', '2'), `http://:${httpPort}/echoBinary\n`);
    for (const name of ['echojs', 'echo', 'echoBinary']) {
      assert.deepEqual(await call(f, name, `hello ${name}`), { status: 200, text: `hello ${name}` }, name);
    }
    // An empty body: "" for node, None (an empty answer) for python, nothing on stdin for binary.
    for (const name of ['echojs', 'echo', 'echoBinary']) assert.deepEqual(await call(f, name), { status: 200, text: '' }, name);
    // The path is the name, any case, any method; the instances are up: threads of them.
    assert.equal((await fetch(`${f.http}/ECHOJS`, { method: 'PUT', body: 'x' })).status, 200);
    assert.equal((await instancesOf(f, 'echobinary')).length, 2, 'threads = 2 instances');
  });

  await t.test('show-headers in node and python see every request header', async () => {
    await f.script('upload.sh', 'fns/show-headers-js', 'headersjs', 'nodejs', '1');
    await f.script('upload.sh', 'fns/show-headers', 'headerspy', 'python3', '1');
    const js = JSON.parse((await call(f, 'headersjs', 'b', { Lab: 'lab-1', 'X-Other': 'o' })).text) as Record<string, string>;
    assert.equal(js.lab, 'lab-1');
    assert.equal(js['x-other'], 'o');
    const py = JSON.parse((await call(f, 'headerspy', 'b', { lab: 'lab-2', 'user-agent': 'tester' })).text) as Record<string, string>;
    assert.equal(py.Lab, 'lab-2', 'python sees canonical header names');
    assert.equal(py['User-Agent'], 'tester');
  });

  await t.test('the sieve of Eratosthenes', async () => {
    await f.script('upload.sh', 'fns/sieve-of-eratosthenes', 'sieve', 'nodejs', '1');
    assert.deepEqual(await call(f, 'sieve'), { status: 200, text: 'Found 1229 primes under 10000\n' });
  });

  await t.test('X-tinyFaaS-Async answers 202 at once and runs the function in the background', async () => {
    const res = await fetch(`${f.http}/echojs`, { method: 'POST', body: 'in the background', headers: { 'X-tinyFaaS-Async': 'true' } });
    assert.equal(res.status, 202);
    await res.text();
    const logs = await until(async () => ((await f.script('logs.sh')).includes('echo-js got "in the background"') ? 'ok' : ''), 15_000);
    assert.equal(logs, 'ok', 'the function ran: its log line is in logs.sh');
  });

  await t.test('list.sh shows the tinyFaaS spellings; unknown functions are 404 to call, 500 to manage', async () => {
    const list = (await f.script('list.sh')).split('\n').filter(Boolean).sort();
    assert.deepEqual(list, ['echo', 'echoBinary', 'echojs', 'headersjs', 'headerspy', 'sieve']);
    assert.equal((await call(f, 'nothere', 'x')).status, 404);
    assert.equal((await manage(f, 'delete', 'nothere')).status, 500);
    assert.equal((await manage(f, 'delete', '{"name": "nothere"}')).status, 500);
    assert.equal((await manage(f, 'logs?name=nothere', '', 'GET')).status, 500);
    // The spelling is exact on the management API, as in tinyFaaS.
    assert.equal((await manage(f, 'delete', 'ECHOBINARY')).status, 500);
  });

  await t.test('a wrong method is 400', async () => {
    assert.equal((await manage(f, 'upload', '', 'GET')).status, 400);
    assert.equal((await manage(f, 'list', 'x')).status, 400);
    assert.equal((await manage(f, 'wipe', '', 'GET')).status, 400);
    assert.equal((await manage(f, 'logs', 'x', 'PUT')).status, 400);
  });

  await t.test('names differing only in case, and names Ferry functions hold, are refused', async () => {
    const zip = makeZip([{ name: 'index.js', body: 'module.exports = (req, res) => res.send("case")' }]);
    const r = await manage(f, 'upload', uploadBody('EchoJS', 'nodejs', zip));
    assert.equal(r.status, 500);
    assert.equal((JSON.parse(r.text) as { code: string }).code, 'name-conflict');
    assert.equal((await call(f, 'echojs', 'still')).text, 'still', 'the function is unchanged');
    // A function of Ferry's own API: neither listed, nor replaced, nor wiped.
    const pkg = await packFiles({ 'ferry.json': '{"runtime": "node", "handler": "index.js"}', 'index.js': 'export default () => "ferry\'s own";' });
    const made = await fetch(`${f.manager}/v1/functions/plain/versions`, { method: 'POST', body: pkg as BodyInit, headers: { authorization: `Bearer ${f.token}`, 'content-type': 'application/gzip' } });
    assert.equal(made.status, 201);
    assert.equal((await manage(f, 'upload', uploadBody('plain', 'nodejs', zip))).status, 500);
    assert.ok(!(await f.script('list.sh')).includes('plain'));
    assert.equal((await manage(f, 'delete', 'plain')).status, 500);
    assert.equal((await manage(f, 'upload', uploadBody('bad-name', 'nodejs', zip))).status, 500, 'names are letters and digits');
  });

  await t.test('bad input leaves stored state unchanged', async () => {
    const before = { list: await f.script('list.sh'), packages: await storedPackages(f) };
    const good = makeZip([{ name: 'index.js', body: 'module.exports = (req, res) => res.send("new")' }]);
    const cases: Array<[string, string, number, string | undefined]> = [
      ['not JSON', 'name=x&env=nodejs', 400, 'malformed-json'],
      ['bad base64', uploadBody('echojs', 'nodejs', 'not*base64!'), 500, 'invalid-body'],
      ['not a zip', uploadBody('echojs', 'nodejs', Buffer.from('this is not a zip archive at all')), 500, 'archive-invalid'],
      ['a .. entry', uploadBody('echojs', 'nodejs', makeZip([{ name: 'index.js', body: 'x' }, { name: '../escape.js', body: 'x' }])), 500, 'archive-unsafe-path'],
      ['a zip bomb', uploadBody('echojs', 'nodejs', makeZip([{ name: 'index.js', body: Buffer.alloc(8 * 1024 * 1024), deflate: true }])), 500, 'archive-too-large'],
      ['an unknown env', uploadBody('echojs', 'ruby', good), 500, 'invalid-body'],
      ['no threads', JSON.stringify({ name: 'echojs', env: 'nodejs', zip: good.toString('base64') }), 500, 'invalid-body'],
      ['no fn.py', uploadBody('echojs', 'python3', good), 500, 'invalid-manifest'],
    ];
    for (const [what, body, status, code] of cases) {
      const r = await manage(f, 'upload', body);
      assert.equal(r.status, status, what);
      if (code) assert.equal((JSON.parse(r.text) as { code: string }).code, code, what);
    }
    assert.equal((await call(f, 'echojs', 'unchanged')).text, 'unchanged');
    assert.equal(await f.script('list.sh'), before.list);
    assert.deepEqual(await storedPackages(f), before.packages, 'no package and no staging left behind');
  });

  await t.test('code that cannot start fails the upload and leaves the function as it was', async () => {
    const before = { list: await f.script('list.sh'), packages: await storedPackages(f) };
    const broken = makeZip([{ name: 'index.js', body: 'throw new Error("cannot load");' }]);
    const fresh = await manage(f, 'upload', uploadBody('broken', 'nodejs', broken));
    assert.equal(fresh.status, 500);
    // Refused by the deploy-time check (tinyFaaS's 500), before any instance starts.
    assert.equal((JSON.parse(fresh.text) as { code: string }).code, 'handler-check-failed');
    assert.equal((await fetch(`${f.manager}/v1/functions/broken`, { headers: { authorization: `Bearer ${f.token}` } })).status, 404, 'no function left');
    const again = await manage(f, 'upload', uploadBody('echojs', 'nodejs', broken));
    assert.equal(again.status, 500);
    assert.equal((await call(f, 'echojs', 'still serving')).text, 'still serving');
    const res = await fetch(`${f.manager}/v1/functions/echojs/versions`, { headers: { authorization: `Bearer ${f.token}` } });
    assert.equal(((await res.json()) as { versions: unknown[] }).versions.length, 1, 'no version left of the failed upload');
    assert.equal(await f.script('list.sh'), before.list);
    const packages = await until(async () => JSON.stringify(await storedPackages(f)) === JSON.stringify(before.packages), 5_000);
    assert.ok(packages, 'the failed uploads\' packages are gone');
  });

  await t.test('re-uploading under load swaps the code with no failed call', async () => {
    const version = (tag: string): Buffer => makeZip([{ name: 'index.js', body: `module.exports = (req, res) => res.send(${JSON.stringify(tag)});` }]);
    assert.equal((await manage(f, 'upload', uploadBody('swap', 'nodejs', version('one'), 2))).status, 200);
    let stop = false;
    const seen: string[] = [];
    const failures: string[] = [];
    const loop = async (): Promise<void> => {
      while (!stop) {
        const r = await call(f, 'swap', 'x').catch((err: Error) => ({ status: 0, text: err.message }));
        if (r.status !== 200 || (r.text !== 'one' && r.text !== 'two')) failures.push(`${r.status} ${r.text.slice(0, 200)}`);
        else seen.push(r.text);
      }
    };
    const loops = Array.from({ length: 4 }, loop);
    await until(async () => seen.length >= 20, 10_000);
    const up = await manage(f, 'upload', uploadBody('swap', 'nodejs', version('two'), 2));
    assert.equal(up.status, 200, up.text);
    // Once /upload answered, the new code serves every call.
    const countAtSwap = seen.length;
    await until(async () => seen.length >= countAtSwap + 40, 15_000);
    stop = true;
    await Promise.all(loops);
    assert.deepEqual(failures, []);
    assert.equal((await call(f, 'swap')).text, 'two');
    assert.ok(seen.includes('one') && seen.includes('two'));
    // The earlier version goes once its calls ended.
    const left = await until(async () => {
      const res = await fetch(`${f.manager}/v1/functions/swap/versions`, { headers: { authorization: `Bearer ${f.token}` } });
      const v = ((await res.json()) as { versions: Array<{ version: string }> }).versions;
      return v.length === 1 ? v[0]!.version : undefined;
    }, 15_000);
    assert.equal(left, 'v2', 'only the new version is left');
  });

  await t.test('uploadURL fetches a zip from loopback (allowed with --callback-allow) and deploys its subfolder', async (tt) => {
    const zip = makeZip([
      { name: 'repo-main/', mode: 0o40755 },
      { name: 'repo-main/fns/', mode: 0o40755 },
      { name: 'repo-main/fns/hello/', mode: 0o40755 },
      { name: 'repo-main/fns/hello/fn.py', body: 'def fn(data, headers):\n    return "hello from a URL"\n' },
      { name: 'repo-main/README', body: 'not the function' },
    ]);
    const server: Server = createServer((req, res) => {
      if (req.url === '/archive/main.zip') {
        res.writeHead(302, { location: '/codeload/main.zip' }).end();
      } else if (req.url === '/codeload/main.zip') res.writeHead(200, { 'content-type': 'application/zip' }).end(zip);
      else res.writeHead(404).end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    tt.after(() => server.close());
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/archive/main.zip`;
    assert.equal(await f.script('uploadURL.sh', url, 'repo-main/fns/hello', 'fromurl', 'python3', '1'), `http://:${httpPort}/fromurl\n`);
    assert.deepEqual(await call(f, 'fromurl'), { status: 200, text: 'hello from a URL' });
    // A subfolder outside the archive is refused.
    const out = await manage(f, 'uploadURL', JSON.stringify({ name: 'outside', env: 'python3', threads: 1, url, subfolder_path: '../..' }));
    assert.equal(out.status, 500);
    assert.equal((JSON.parse(out.text) as { code: string }).code, 'archive-unsafe-path');
    // The metadata address stays refused: it is not on the allowance.
    const meta = await manage(f, 'uploadURL', JSON.stringify({ name: 'meta', env: 'python3', threads: 1, url: 'http://169.254.169.254/latest/fn.zip', subfolder_path: '/' }));
    assert.equal(meta.status, 500);
    assert.equal((JSON.parse(meta.text) as { code: string }).code, 'url-refused');
    assert.ok(!(await f.script('list.sh')).includes('meta'));
  });

  await t.test('delete.sh and wipe-functions.sh remove only the tinyFaaS functions', async () => {
    assert.equal(await f.script('delete.sh', 'sieve'), '');
    assert.equal((await call(f, 'sieve')).status, 404);
    assert.ok(!(await f.script('list.sh')).includes('sieve'));
    assert.equal(await f.script('wipe-functions.sh'), '');
    assert.equal(await f.script('list.sh'), '');
    assert.equal((await call(f, 'echojs', 'x')).status, 404);
    const plain = await fetch(`${f.manager}/v1/functions/plain`, { headers: { authorization: `Bearer ${f.token}` } });
    assert.equal(plain.status, 200, "Ferry's own function is still there");
  });
});

test('ferry tinyfaas: -1 turns an endpoint off; uploadURL to loopback is refused without the allowance; SIGINT stops everything', async (t) => {
  const f = await startTinyFerry({ env: { HTTP_PORT: '-1', ...noOtherEndpoints } });
  t.after(() => disposeTinyFerry(f));
  assert.equal(f.http, undefined, 'no HTTP endpoint');
  // With every endpoint off, the upload answers no line.
  assert.equal(await f.script('upload.sh', 'fns/echo-binary', 'quiet', 'binary', '2'), '');
  assert.equal((await instancesOf(f, 'quiet')).length, 2);
  const r = await manage(f, 'uploadURL', JSON.stringify({ name: 'local', env: 'binary', threads: 1, url: `${f.manager}/list`, subfolder_path: '/' }));
  assert.equal(r.status, 500);
  assert.equal((JSON.parse(r.text) as { code: string }).code, 'url-refused');
  assert.ok(processesMentioning(f.dataDir).length > 0, 'instances run');
  const started = Date.now();
  assert.equal(await f.stop('SIGINT'), 0);
  t.diagnostic(`stopped ${Date.now() - started} ms after SIGINT`);
  assert.deepEqual(processesMentioning(f.dataDir), [], 'no instance left');
});

test('ferry tinyfaas: the port variables must be integers up to 65535 (exit code 2, one line)', async () => {
  for (const [name, value] of [['HTTP_PORT', 'abc'], ['COAP_PORT', '70000'], ['GRPC_PORT', '1.5']] as const) {
    const r = await runCli(['tinyfaas', '--port', '0', '--data-dir', '/nonexistent/never-created'], { env: { [name]: value } });
    assert.equal(r.code, 2, show(r));
    assert.equal(r.stderr.trim().split('\n').length, 1, show(r));
    assert.match(r.stderr, new RegExp(name), show(r));
  }
});

test('ferry tinyfaas: its defaults', () => {
  const o = tinyfaasOptions({}, { HTTP_PORT: '8001', COAP_PORT: '6000', GRPC_PORT: '-1' });
  assert.deepEqual(o.compat, ['tinyfaas']);
  assert.ok(o.surfaceListen.includes('tinyfaas-http=[::]:8001'));
  assert.equal(o.coapPort, 6000);
  assert.equal(o.coapHost, '::');
  assert.equal(o.grpcPort, undefined);
  assert.equal(o.host, '127.0.0.1', 'the management API stays on loopback unless moved');
  // A stop within a second: a short drain, a short grace for instances.
  assert.ok(o.drainTimeoutMs + o.stopGraceMs <= 600, `${o.drainTimeoutMs} + ${o.stopGraceMs}`);
  const d = tinyfaasOptions({}, {});
  assert.ok(d.surfaceListen.includes('tinyfaas-http=[::]:8000'));
  assert.equal(d.coapPort, 5683);
  assert.equal(d.grpcPort, 9000);
  assert.equal(d.port, 8080);
});
