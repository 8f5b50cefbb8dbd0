/**
 * The real `ferry` CLI (`node dist/src/cli/main.js`) against a real server: init from each
 * template, deploy, invoke, aliases (plain and weighted), listings, logs, one-line errors,
 * delete, and finding the admin token through FERRY_DATA_DIR.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFerry, disposeFerry, type Ferry } from './support/ferry.js';
import { runCli, show, type CliResult } from './support/helpers.js';

let ferry: Ferry;
let work: string;
before(async () => {
  ferry = await startFerry();
  work = await mkdtemp(join(tmpdir(), 'ferry-cli-'));
});
after(async () => {
  await disposeFerry(ferry);
  await rm(work, { recursive: true, force: true });
});

/** Runs the CLI connected to the test server with the admin token. */
function ferryCli(...args: string[]): Promise<CliResult> {
  return runCli(args, { env: { FERRY_URL: ferry.url, FERRY_TOKEN: ferry.token }, cwd: work });
}

async function ok(...args: string[]): Promise<CliResult> {
  const r = await ferryCli(...args);
  assert.equal(r.code, 0, `ferry ${args.join(' ')}\n${show(r)}`);
  return r;
}

/** One line on stderr starting with `ferry:`, and nothing that looks like a stack trace. */
function oneLineError(r: CliResult, what: string): void {
  assert.notEqual(r.code, 0, `${what} should fail\n${show(r)}`);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `${what}: expected one stderr line\n${show(r)}`);
  assert.match(lines[0]!, /^ferry: /, `${what}\n${show(r)}`);
  assert.doesNotMatch(r.stderr, /^\s+at\s/m, `${what}: stack trace on stderr\n${show(r)}`);
  assert.doesNotMatch(r.stderr, /\.(js|ts):\d+/, `${what}: source locations on stderr\n${show(r)}`);
}

test('init + deploy (node): prints v1 and its URL', async () => {
  const dir = join(work, 'fn');
  const init = await ok('init', dir, '--runtime', 'node');
  assert.match(init.stdout, /node template/);
  assert.match(init.stdout, /index\.js/);
  assert.ok(existsSync(join(dir, 'ferry.json')));
  const deploy = await ok('deploy', dir, '--name', 'clifn');
  assert.match(deploy.stdout, /^Deployed clifn v1$/m);
  assert.ok(deploy.stdout.includes(`${ferry.url}/fn/clifn@v1`), `no URL in:\n${deploy.stdout}`);
  // init into a folder that is not empty is refused, with one line.
  oneLineError(await ferryCli('init', dir, '--runtime', 'node'), 'init into a non-empty folder');
});

test('deploy with no folder: the current one when it holds a ferry.json, named after it; elsewhere one line saying so', async () => {
  const dir = join(work, 'herefn');
  await ok('init', dir, '--runtime', 'node');
  const here = await runCli(['deploy'], { env: { FERRY_URL: ferry.url, FERRY_TOKEN: ferry.token }, cwd: dir });
  assert.equal(here.code, 0, show(here));
  assert.match(here.stdout, /^Deployed herefn v1$/m);
  assert.equal((await ok('invoke', 'herefn')).stdout, 'Hello, world! This is herefn v1.\n');
  const none = await ferryCli('deploy');
  oneLineError(none, 'deploy with no folder where there is no ferry.json');
  assert.match(none.stderr, /function folder \(one holding a ferry\.json; there is none here\)/);
  await ok('delete', 'herefn');
});

test('invoke: prints the hello of the node template', async () => {
  const r = await ok('invoke', 'clifn');
  assert.equal(r.stdout, 'Hello, world! This is clifn v1.\n');
  const q = await ok('invoke', 'clifn@v1', '--path', '/?name=cli');
  assert.equal(q.stdout, 'Hello, cli! This is clifn v1.\n');
});

test('deploy --alias prod: makes v2 and points prod at it', async () => {
  const r = await ok('deploy', join(work, 'fn'), '--name', 'clifn', '--alias', 'prod');
  assert.match(r.stdout, /^Deployed clifn v2$/m);
  assert.match(r.stdout, /alias prod -> v2/);
  assert.equal((await ok('invoke', 'clifn@prod')).stdout, 'Hello, world! This is clifn v2.\n');
  assert.equal((await ok('invoke', 'clifn@v1')).stdout, 'Hello, world! This is clifn v1.\n');
});

test('aliases set --weights and aliases list', async () => {
  const set = await ok('aliases', 'set', 'clifn', 'canary', '--weights', 'v1=50,v2=50');
  assert.match(set.stdout, /clifn@canary -> v1=50,v2=50/);
  const list = await ok('aliases', 'list', 'clifn');
  assert.match(list.stdout, /^ALIAS\s+TARGET\s+UPDATED$/m);
  assert.match(list.stdout, /^canary\s+v1=50,v2=50\s/m);
  assert.match(list.stdout, /^prod\s+v2\s/m);
  // The split really splits.
  const seen = new Set<string>();
  for (let i = 0; i < 4; i++) seen.add((await ok('invoke', 'clifn@canary')).stdout);
  assert.deepEqual([...seen].sort(), ['Hello, world! This is clifn v1.\n', 'Hello, world! This is clifn v2.\n']);
  // A reserved alias name is a usage error, on one line.
  oneLineError(await ferryCli('aliases', 'set', 'clifn', 'latest', 'v1'), 'aliases set latest');
});

test('functions list and versions list', async () => {
  const fns = await ok('functions', 'list');
  assert.match(fns.stdout, /^NAME\s+OWNER\s+LATEST\s+VERSIONS\s+ALIASES\s+CREATED$/m);
  assert.match(fns.stdout, /^clifn\s+singular:admin\s+v2\s+2\s/m);
  const vs = await ok('versions', 'list', 'clifn');
  assert.match(vs.stdout, /^VERSION\s+CREATED\s+SIZE\s+SHA256$/m);
  assert.match(vs.stdout, /^v1\s/m);
  assert.match(vs.stdout, /^v2\s/m);
  const asJson = JSON.parse((await ok('functions', 'list', '--json')).stdout) as { functions: Array<{ name: string }> };
  assert.ok(asJson.functions.some((f) => f.name === 'clifn'));
});

test('logs: exits 0', async () => {
  await ok('logs', 'clifn');
  await ok('logs', 'clifn', '--version', 'v1', '--json');
});

test('errors: invoking an unknown function exits non-zero with one line on stderr and no stack trace', async () => {
  const r = await ferryCli('invoke', 'nope');
  oneLineError(r, 'invoke nope');
  assert.match(r.stderr, /function-not-found/);
  const v = await ferryCli('versions', 'list', 'nope');
  oneLineError(v, 'versions list nope');
  const d = await ferryCli('deploy', join(work, 'does-not-exist'), '--name', 'x');
  oneLineError(d, 'deploy of a missing folder');
  const u = await runCli(['functions', 'list'], { env: { FERRY_URL: 'http://127.0.0.1:1', FERRY_TOKEN: ferry.token }, cwd: work });
  oneLineError(u, 'unreachable server');
});

test('delete: removes the function', async () => {
  const r = await ok('delete', 'clifn');
  assert.match(r.stdout, /Deleted clifn/);
  assert.doesNotMatch((await ok('functions', 'list')).stdout, /clifn/);
  oneLineError(await ferryCli('invoke', 'clifn'), 'invoke after delete');
});

for (const [runtime, expected] of [
  ['python', (s: string) => assert.deepEqual(JSON.parse(s), { hello: 'world', method: 'GET' })],
  ['exec', (s: string) => assert.equal(s.trim(), 'Hello from exec: GET /')],
  ['http', (s: string) => assert.equal(s.trim(), 'Hello from an HTTP server: GET /')],
] as const) {
  test(`init + deploy + invoke: the ${runtime} template`, async () => {
    const dir = join(work, `${runtime}-fn`);
    await ok('init', dir, '--runtime', runtime);
    const name = `cli-${runtime}`;
    const d = await ok('deploy', dir, '--name', name);
    assert.match(d.stdout, new RegExp(`^Deployed ${name} v1$`, 'm'));
    const r = await ok('invoke', name);
    expected(r.stdout);
  });
}

test('without FERRY_TOKEN the CLI reads the admin token from FERRY_DATA_DIR', async () => {
  const r = await runCli(['functions', 'list'], { env: { FERRY_URL: ferry.url, FERRY_DATA_DIR: ferry.dataDir }, cwd: work });
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /cli-python/);
  // With no token anywhere the server's 401 comes back as one line with a hint.
  const none = await runCli(['functions', 'list'], { env: { FERRY_URL: ferry.url, FERRY_DATA_DIR: join(work, 'no-data-dir') }, cwd: work });
  oneLineError(none, 'no token');
  assert.match(none.stderr, /unauthorized/);
  assert.match(none.stderr, /FERRY_TOKEN/);
});

test('deploy honours .ferryignore, and warns of a file that looks like credentials before uploading it', async () => {
  const dir = join(work, 'ignoring');
  await ok('init', dir, '--runtime', 'node');
  await writeFile(join(dir, '.env'), 'DB_PASSWORD=hunter2\n');
  await mkdir(join(dir, 'fixtures'));
  await writeFile(join(dir, 'fixtures', 'big.json'), '{}');
  await writeFile(join(dir, '.ferryignore'), 'fixtures/\n');
  await writeFile(join(dir, 'list.js'), "import { readdirSync } from 'node:fs';\nexport default () => readdirSync('.').sort().join(',');\n");
  await writeFile(join(dir, 'ferry.json'), JSON.stringify({ runtime: 'node', handler: 'list.js' }));
  const first = await ok('deploy', dir, '--name', 'ignoring');
  assert.match(first.stderr, /^warning: \.env looks like credentials; .*ferry secrets.*\.ferryignore$/m, show(first));
  assert.equal(await (await fetch(`${ferry.url}/fn/ignoring`)).text(), '.env,.ferryignore,ferry.json,index.js,list.js,package.json');
  await writeFile(join(dir, '.ferryignore'), 'fixtures/\n.env\n');
  const second = await ok('deploy', dir, '--name', 'ignoring');
  assert.doesNotMatch(second.stderr, /warning/, show(second));
  assert.equal(await (await fetch(`${ferry.url}/fn/ignoring`)).text(), '.ferryignore,ferry.json,index.js,list.js,package.json');
});
