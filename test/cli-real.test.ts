/**
 * The CLI's own behaviour against the real server: how deploy uploads (progress, an explicit
 * version, an upload refused before it ends), what invoke sends and prints, logs as they are
 * written, where the connection flags go, how errors and usage errors read, `ferry config unset`,
 * `ferry executions retry`, and the memory `ferry instances` shows.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFerry, disposeFerry, cliPath, writeFiles, type Ferry } from './support/ferry.js';
import { nodeFn, runCli, show, until, type CliResult } from './support/helpers.js';

let ferry: Ferry;
let work: string;
before(async () => {
  // A small upload cap, so an upload can be refused while the CLI is still sending it.
  ferry = await startFerry({ args: ['--driver', 'process', '--unsandboxed', '--max-upload', '262144'] });
  work = await mkdtemp(join(tmpdir(), 'ferry-cli-real-'));
});
after(async () => {
  await disposeFerry(ferry);
  await rm(work, { recursive: true, force: true });
});

const env = (): Record<string, string> => ({ FERRY_URL: ferry.url, FERRY_TOKEN: ferry.token });
const cli = (...args: string[]): Promise<CliResult> => runCli(args, { env: env(), cwd: work });
async function ok(...args: string[]): Promise<CliResult> {
  const r = await cli(...args);
  assert.equal(r.code, 0, `ferry ${args.join(' ')}\n${show(r)}`);
  return r;
}

/** Answers what it was sent: method, path and query, a header, the body; logs one line per call. */
const echo = nodeFn(`export default async (req) => {
  const u = new URL(req.url);
  console.log('echo ' + req.method + ' ' + u.pathname);
  return new Response(JSON.stringify({ method: req.method, url: u.pathname + u.search, x: req.headers.get('x-test'), body: await req.text() }), { headers: { 'content-type': 'application/json' } });
};
`);

test('deploy: packs the folder, uploads it, moves the alias; one progress line when stderr is no terminal', async () => {
  const dir = await writeFiles(echo);
  const r = await ok('deploy', dir, '--name', 'echo', '--alias', 'prod');
  assert.match(r.stdout, /^Deployed echo v1$/m);
  assert.ok(r.stdout.includes(`${ferry.url}/fn/echo@v1`), r.stdout);
  assert.match(r.stdout, /alias prod -> v1/);
  assert.match(r.stderr, /^uploading echo: [\d.]+ (B|KiB) sent\n/, show(r));
  const alias = (await (await ferry.api('GET', '/v1/functions/echo/aliases')).json()) as { aliases: Array<{ alias: string; target: unknown }> };
  assert.deepEqual(alias.aliases.map((a) => [a.alias, a.target]), [['prod', { version: 'v1' }]]);
  await rm(dir, { recursive: true, force: true });
});

test('deploy --version names the version (PUT), not the program version', async () => {
  const dir = await writeFiles(echo);
  const r = await ok('deploy', dir, '--name', 'echo', '--version', 'v7');
  assert.match(r.stdout, /^Deployed echo v7\n {2}url: http:\/\/127\.0\.0\.1:\d+\/fn\/echo@v7\n$/);
  assert.equal((await ferry.api('GET', '/v1/functions/echo/versions/v7')).status, 200);
  await rm(dir, { recursive: true, force: true });
});

test('deploy: an upload the server refuses before it has it all is reported with its code', async () => {
  const dir = await writeFiles({ ...echo, 'blob.bin': '' });
  // Random bytes do not compress: the archive stays over the 256 KiB cap.
  await writeFile(join(dir, 'blob.bin'), randomBytes(4 * 1024 * 1024));
  const r = await cli('deploy', dir, '--name', 'big');
  assert.equal(r.code, 1, show(r));
  assert.match(r.stderr, /^ferry: .*\(body-too-large\)$/m, show(r));
  await rm(dir, { recursive: true, force: true });
});

test('invoke: sends method, headers, body, path and query, and prints the answer', async () => {
  const r = await ok('invoke', 'echo@prod', '-d', 'hi', '-H', 'X-Test: 1', '--path', '/a?b=c');
  assert.deepEqual(JSON.parse(r.stdout), { method: 'POST', url: '/a?b=c', x: '1', body: 'hi' });
});

test('invoke: a function that needs a token gets the CLI token; a wrong token is one line', async () => {
  await ferry.deploy('guarded', nodeFn(`export default () => 'inside';\n`, { invoke: 'token' }));
  assert.equal((await ok('invoke', 'guarded')).stdout, 'inside');
  assert.equal((await fetch(`${ferry.url}/fn/guarded`)).status, 401, 'without a token the call is refused');
  const wrong = await runCli(['invoke', 'guarded'], { env: { FERRY_URL: ferry.url, FERRY_TOKEN: 'not-a-token' }, cwd: work });
  assert.equal(wrong.code, 1, show(wrong));
  assert.match(wrong.stderr, /^ferry: HTTP 401: .*\(token-malformed\)\n$/, show(wrong));
});

test('invoke: a non-2xx answer prints its body and one status line, exit 1', async () => {
  await ferry.deploy('fail', nodeFn(`export default () => new Response('boom\\n', { status: 500 });\n`));
  const r = await cli('invoke', 'fail');
  assert.equal(r.code, 1, show(r));
  assert.equal(r.stdout, 'boom\n');
  assert.match(r.stderr, /^ferry: HTTP 500\b.*\n$/, show(r));
  const gone = await cli('invoke', 'gone');
  assert.equal(gone.code, 1, show(gone));
  assert.equal((JSON.parse(gone.stdout) as { code: string }).code, 'function-not-found');
  assert.match(gone.stderr, /^ferry: HTTP 404: .*'gone'.* \(function-not-found\)\n$/, show(gone));
});

test('logs: printed one per line; --follow prints lines written after it started', async () => {
  await ok('invoke', 'echo', '--path', '/first');
  const printed = await until(async () => {
    const r = await ok('logs', 'echo');
    return /echo GET \/first/.test(r.stdout) ? r.stdout : '';
  });
  assert.match(printed, /^\d{4}-\d\d-\d\dT[\d:.]+Z v\d+\/\S+ \[[0-9a-f-]{36}\] echo GET \/first$/m, printed);

  const follower = spawn(process.execPath, [cliPath, 'logs', 'echo', '--follow'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env() }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  follower.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  try {
    // Following: the earlier line arrives first, then the new call's line, while the command runs.
    assert.ok(await until(async () => out.includes('echo GET /first'), 10_000), out);
    await ok('invoke', 'echo', '--path', '/second');
    assert.ok(await until(async () => /\[\S+\] echo GET \/second$/m.test(out), 10_000), `no followed line in:\n${out}`);
    assert.equal(follower.exitCode, null, 'still following');
  } finally {
    follower.kill('SIGINT');
  }
});

test('--url and --token go before the command too', async () => {
  // A token of its own: the admin's never goes on a command line (the process table is public).
  const res = await ferry.api('POST', '/v1/tokens', { label: 'flags', seconds: 300 });
  assert.equal(res.status, 201);
  const { token } = (await res.json()) as { token: string };
  const r = await runCli(['--url', ferry.url, '--token', token, 'functions', 'list', '--json'], { cwd: work });
  assert.equal(r.code, 0, show(r));
  assert.ok((JSON.parse(r.stdout) as { functions: Array<{ name: string }> }).functions.some((f) => f.name === 'echo'));
});

test('errors: an API error and a wrong token are one line, exit 1; usage errors exit 2', async () => {
  const missing = await cli('versions', 'list', 'missing');
  assert.equal(missing.code, 1, show(missing));
  assert.match(missing.stderr, /^ferry: .*'missing'.* \(function-not-found\)\n$/);
  assert.equal(missing.stdout, '');
  const wrong = await runCli(['functions', 'list', '--url', ferry.url, '--token', 'nope'], { cwd: work });
  assert.equal(wrong.code, 1, show(wrong));
  assert.equal(wrong.stderr, 'ferry: the token is neither an API token (fry_...) nor an access token (token-malformed)\n');
  const unknown = await cli('functoins');
  assert.equal(unknown.code, 2, show(unknown));
  assert.equal(unknown.stderr.split('\n').length, 2, unknown.stderr);
  assert.match(unknown.stderr, /^ferry: unknown command 'functoins'/);
  const reserved = await cli('aliases', 'set', 'echo', 'latest', 'v1');
  assert.equal(reserved.code, 2, show(reserved));
  assert.match(reserved.stderr, /^ferry: alias 'latest' is reserved/);
  const port = await runCli(['server', '--port', 'abc'], { cwd: work });
  assert.equal(port.code, 2, show(port));
  assert.equal(port.stderr, "ferry: --port: 'abc' is not a non-negative integer\n");
});

test('config unset takes keys out of the changes: env, scaling, limits, a top-level key', async () => {
  await ferry.deploy('tuned', nodeFn(`export default () => process.env.GREETING ?? '-';\n`, { env: { KEPT: 'k' }, retries: 1 }));
  await ok('config', 'set', 'tuned', 'env.GREETING=hi', 'env.OTHER=o', 'scaling.maxInstances=3', 'limits.memoryMb=200', 'retries=4');
  assert.equal((await ok('invoke', 'tuned')).stdout, 'hi');
  const r = await ok('config', 'unset', 'tuned', 'env.GREETING', 'scaling.maxInstances', 'retries');
  assert.match(r.stdout, /^tuned@v1: unset env\.GREETING, scaling\.maxInstances, retries\n$/);
  const override = JSON.parse((await ok('config', 'get', 'tuned', '--override')).stdout) as Record<string, unknown>;
  assert.deepEqual(override, { env: { OTHER: 'o' }, limits: { memoryMb: 200 } });
  const config = JSON.parse((await ok('config', 'get', 'tuned')).stdout) as { env: Record<string, string>; retries: number; scaling: { maxInstances: number } };
  assert.deepEqual(config.env, { KEPT: 'k', OTHER: 'o' });
  assert.equal(config.retries, 1, "back to the package's value");
  assert.equal(config.scaling.maxInstances, 4, 'back to the default');
  assert.equal((await ok('invoke', 'tuned')).stdout, '-', 'the running instance was replaced');
  // The last of a map and the last of a section leave the override altogether.
  await ok('config', 'unset', 'tuned', 'env.OTHER', 'limits.memoryMb');
  assert.deepEqual(JSON.parse((await ok('config', 'get', 'tuned', '--override')).stdout), {});
  // What the package sets is not a change to undo; unknown keys are the server's invalid-body.
  const fromPackage = await cli('config', 'unset', 'tuned', 'env.KEPT');
  assert.equal(fromPackage.code, 1, show(fromPackage));
  assert.match(fromPackage.stderr, /^ferry: env\.KEPT is not among the changes/);
  const unknown = await cli('config', 'unset', 'tuned', 'scaling.nonsense');
  assert.equal(unknown.code, 1, show(unknown));
  assert.match(unknown.stderr, /unknown key 'scaling\.nonsense' \(invalid-body\)/);
  assert.equal((await cli('config', 'unset', 'tuned', 'retries=1')).code, 2);
  assert.equal((await cli('config', 'unset', 'tuned', 'rateLimit.burst')).code, 2, 'rateLimit is replaced whole, so unset whole');
});

test('executions retry runs a failed execution again', async () => {
  const marker = join(work, 'failing');
  await writeFile(marker, '');
  await ferry.deploy('flaky', nodeFn(`import { existsSync } from 'node:fs';\nexport default () => existsSync(${JSON.stringify(marker)}) ? new Response('down', { status: 500 }) : 'up';\n`, { retries: 0 }));
  const id = (await ok('executions', 'start', 'flaky')).stdout.trim();
  const failed = await cli('executions', 'get', id, '--wait');
  assert.equal(failed.code, 1, show(failed));
  assert.match(failed.stdout, /status:\s+failed/);
  await rm(marker);
  assert.match((await ok('executions', 'retry', id)).stdout, new RegExp(`^Re-driven ${id}: queued\\n$`));
  assert.match((await ok('executions', 'get', id, '--wait')).stdout, /status:\s+succeeded/);
  assert.equal((await ok('executions', 'result', id)).stdout, 'up');
});

test('instances: the memory each running instance uses, through the API and the CLI', async () => {
  await ok('start', 'echo@v1');
  const listed = await until(async () => {
    const r = (await (await ferry.api('GET', '/v1/functions/echo/instances')).json()) as { instances: Array<{ version: string; state: string; memoryBytes: number | null }> };
    return r.instances.find((i) => i.version === 'v1' && i.state === 'ready');
  });
  assert.ok(listed, 'a ready v1 instance');
  // A Node process holds megabytes: a positive count, and not a stray few bytes.
  assert.ok(typeof listed.memoryBytes === 'number' && listed.memoryBytes > 1024 * 1024, `memoryBytes: ${listed.memoryBytes}`);
  const table = (await ok('instances', 'echo')).stdout;
  assert.match(table, /^ID\s+VERSION\s+STATE\s+IN FLIGHT\s+SERVED\s+MEMORY\s/m);
  assert.match(table, /\sv1\s+ready\s+\d+\s+\d+\s+[\d.]+ (KiB|MiB)\s/, table);
});
