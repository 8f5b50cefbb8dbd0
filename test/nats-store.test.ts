/**
 * `ferry server --store nats://...`: the metadata lives in NATS JetStream. A deploy on one server
 * process routes on a second one through the change feed, a restart keeps everything, a login
 * with a password from the environment, a token over TLS, an NKey seed and a creds file (an
 * operator-mode server) works, and an unreachable or refusing NATS stops the start with a clear
 * error (and no secret in it).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFerry, disposeFerry, markSensitive, type Ferry } from './support/ferry.js';
import { runCli, versionFn } from './support/helpers.js';
import { startNatsServer, type NatsServer } from './support/nats-server.js';
import { makeTlsFiles } from './support/registry.js';
import { operatorMode, userNkey } from './support/nats-jwt.js';
import { waitFor } from './support/wait.js';

const processArgs = ['--driver', 'process', '--unsandboxed', '--pool-size', '0'];
let nats: NatsServer;
const started: Ferry[] = [];

before(async () => {
  nats = await startNatsServer();
});
after(async () => {
  // Latest first: the first's disposal removes a shared data dir.
  for (const f of started.reverse()) await disposeFerry(f).catch(() => {});
  await nats.stop();
});

async function start(args: string[], opts: { dataDir?: string; env?: Record<string, string> } = {}): Promise<Ferry> {
  const f = await startFerry({ args: [...processArgs, ...args], ...opts });
  started.push(f);
  return f;
}

/** The start of `args` fails before listening with an error matching `why`, without `secret` in it. */
async function refused(args: string[], why: RegExp, secret?: string, env?: Record<string, string>): Promise<void> {
  await assert.rejects(start(args, env ? { env } : {}), (err: Error) => {
    assert.match(err.message, /exited \([1-9]\d*\) before listening/);
    assert.match(err.message, why);
    if (secret !== undefined) assert.ok(!err.message.includes(secret), 'the secret is not in the error');
    return true;
  });
}

/** What `path` answers on `f` now: `<status> <body>`. */
async function answer(f: Ferry, path: string): Promise<string> {
  const res = await fetch(`${f.url}${path}`);
  return `${res.status} ${(await res.text()).trim()}`;
}

async function routes(f: Ferry, path: string, expected: string): Promise<void> {
  await waitFor(`${path} to answer '${expected}'`, async () => (await answer(f, path)) === expected);
}

/** A TCP port nothing listens on (taken, then given back). */
async function closedPort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

test('a deploy on one server routes on a second one on the same NATS, and a restart keeps it all', async () => {
  const args = ['--store', nats.url, '--nats-prefix', 'feed'];
  const one = await start(args);
  assert.equal((await one.deploy('hello', versionFn('1'))).version, 'v1');
  assert.equal(await answer(one, '/fn/hello'), '200 v1');
  assert.equal(existsSync(join(one.dataDir, 'ferry.db')), false, 'no metadata in the data dir');

  // The second process shares the data dir for the package files; the metadata it reads is NATS's.
  const two = await start(args, { dataDir: one.dataDir });
  await routes(two, '/fn/hello', '200 v1');
  assert.equal((await one.deploy('hello', versionFn('2'))).version, 'v2');
  await routes(two, '/fn/hello', '200 v2');
  assert.equal((await two.api('PUT', '/v1/functions/hello/aliases/prod', { version: 'v1' })).status, 200);
  await routes(one, '/fn/hello@prod', '200 v1');
  // Deploys racing on both processes each get their own version (compare-and-set on NATS).
  const both = await Promise.all([one.deploy('hello', versionFn('a')), two.deploy('hello', versionFn('b'))]);
  assert.deepEqual(both.map((v) => v.version).sort(), ['v3', 'v4']);

  // A burst of calls just before a clean stop: the history written in batches loses none of them.
  const burst = 60;
  const answers = await Promise.all(Array.from({ length: burst }, (_, i) => fetch(`${one.url}/fn/hello/burst-${i}`).then((r) => r.status)));
  assert.deepEqual(new Set(answers), new Set([200]));

  // Both stop; a new process on the same NATS finds everything, and the old admin token works.
  assert.equal(await two.stop(), 0);
  assert.equal(await one.stop(), 0);
  const again = await start(args, { dataDir: one.dataDir });
  assert.equal(again.token, one.token);
  await routes(again, '/fn/hello@prod', '200 v1');
  const { versions } = (await (await again.api('GET', '/v1/functions/hello/versions')).json()) as { versions: Array<{ version: string }> };
  assert.deepEqual(versions.map((v) => v.version).sort(), ['v1', 'v2', 'v3', 'v4']);
  const { invocations } = (await (await again.api('GET', '/v1/invocations?function=hello&limit=1000')).json()) as { invocations: Array<{ path: string }> };
  assert.equal(invocations.filter((r) => r.path.startsWith('/burst-')).length, burst, 'every call of the burst in the history');
  assert.equal((await again.api('DELETE', '/v1/functions/hello')).status, 204);
  assert.equal((await fetch(`${again.url}/fn/hello`)).status, 404);
});

test('a login to NATS with a user and a password from FERRY_NATS_PASSWORD', async () => {
  const password = `nats-pw-${process.pid}-${Date.now()}`;
  markSensitive(password);
  // The test server reads it from a file: no password on any command line, its own included.
  const dir = await mkdtemp(join(tmpdir(), 'ferry-nats-auth-'));
  const conf = join(dir, 'auth.conf');
  await writeFile(conf, `authorization { user: ferry, password: "${password}" }\n`, { mode: 0o600 });
  const locked = await startNatsServer({ args: ['-c', conf] });
  try {
    const args = ['--store', locked.url, '--nats-user', 'ferry'];
    const f = await start(args, { env: { FERRY_NATS_PASSWORD: password } });
    await f.deploy('locked', versionFn('1'));
    assert.equal(await answer(f, '/fn/locked'), '200 v1');
    await disposeFerry(started.pop()!);

    // A wrong password: the start fails, naming NATS, without the password in what it prints.
    const wrong = `${password}-wrong`;
    markSensitive(wrong);
    await refused(args, new RegExp(`cannot reach NATS at ${locked.url.replace(/[.]/g, '\\.')}`), wrong, { FERRY_NATS_PASSWORD: wrong });
  } finally {
    await locked.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a login to NATS over TLS (--nats-tls-ca) with a token from a file (--nats-token-file)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-nats-tls-'));
  const token = `nats-token-${process.pid}-${Date.now()}`;
  markSensitive(token);
  const tls = makeTlsFiles(dir);
  const conf = join(dir, 'tls.conf');
  await writeFile(conf, `tls { cert_file: "${tls.cert}", key_file: "${tls.key}" }\nauthorization { token: "${token}" }\n`, { mode: 0o600 });
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
  const locked = await startNatsServer({ args: ['-c', conf] });
  try {
    const args = ['--store', locked.url, '--nats-tls-ca', tls.ca, '--nats-token-file', tokenFile];
    const f = await start(args);
    await f.deploy('over-tls', versionFn('1'));
    assert.equal(await answer(f, '/fn/over-tls'), '200 v1');
    await disposeFerry(started.pop()!);
    // Without the CA the server's certificate is not trusted: the start fails, naming NATS.
    await refused(['--store', locked.url, '--nats-token-file', tokenFile], /cannot reach NATS/, token);
  } finally {
    await locked.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a login to NATS with an NKey seed file (--nats-nkey-seed): the right seed works, another is refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-nats-nkey-'));
  const key = userNkey();
  const other = userNkey();
  for (const seed of [key.seed, other.seed]) markSensitive(seed);
  const conf = join(dir, 'nkey.conf');
  await writeFile(conf, `authorization { users = [ { nkey: "${key.publicKey}" } ] }\n`, { mode: 0o600 });
  const seedFile = join(dir, 'user.nk');
  await writeFile(seedFile, `${key.seed}\n`, { mode: 0o600 });
  const otherFile = join(dir, 'other.nk');
  await writeFile(otherFile, `${other.seed}\n`, { mode: 0o600 });
  const locked = await startNatsServer({ args: ['-c', conf] });
  try {
    const f = await start(['--store', locked.url, '--nats-nkey-seed', seedFile]);
    await f.deploy('by-nkey', versionFn('1'));
    assert.equal(await answer(f, '/fn/by-nkey'), '200 v1');
    await disposeFerry(started.pop()!);
    // A seed of a key the server does not know: the start fails, naming NATS, no seed printed.
    await refused(['--store', locked.url, '--nats-nkey-seed', otherFile], /cannot reach NATS/, other.seed);
  } finally {
    await locked.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a login to an operator-mode NATS with a creds file (--nats-creds): JetStream through an account JWT', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-nats-creds-'));
  const mode = operatorMode();
  markSensitive(mode.userSeed);
  const conf = join(dir, 'operator.conf');
  await writeFile(conf, mode.config, { mode: 0o600 });
  const creds = join(dir, 'user.creds');
  await writeFile(creds, mode.creds, { mode: 0o600 });
  const loose = join(dir, 'loose.creds');
  await writeFile(loose, mode.creds, { mode: 0o644 });
  const locked = await startNatsServer({ args: ['-c', conf] });
  try {
    const f = await start(['--store', locked.url, '--nats-creds', creds]);
    await f.deploy('by-creds', versionFn('1'));
    assert.equal(await answer(f, '/fn/by-creds'), '200 v1');
    await disposeFerry(started.pop()!);
    // Without the creds the operator-mode server refuses the connection.
    await refused(['--store', locked.url], /cannot reach NATS/);
    // A creds file others may read is refused before any connection, naming the setting.
    await refused(['--store', locked.url, '--nats-creds', loose], /--nats-creds: .* is readable by others/, mode.userSeed);
  } finally {
    await locked.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('an unreachable NATS stops the start with an error naming its URL', async () => {
  const url = `nats://127.0.0.1:${await closedPort()}`;
  await refused(['--store', url], new RegExp(`cannot reach NATS at ${url.replace(/[.]/g, '\\.')}`));
});

test('a NATS password file others may read stops the start, naming the setting', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-nats-auth-'));
  const file = join(dir, 'password');
  await writeFile(file, 'not-a-secret-here\n', { mode: 0o644 });
  try {
    await refused(['--store', nats.url, '--nats-user', 'ferry', '--nats-password-file', file], /--nats-password-file: .* is readable by others/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('ferry keys rotate --store nats://... rotates the keys every node shares, not a data dir\'s', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'ferry-nats-keys-'));
  try {
    const rotated = await runCli(['keys', 'rotate', '--data-dir', dataDir, '--store', nats.url], { env: { FERRY_NATS_PREFIX: 'keys' } });
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stdout, /jwt-hs256 +[0-9a-f]{16} +2/);
    assert.match(rotated.stdout, /secrets-aes256 +[0-9a-f]{16} +2/);
    assert.equal(existsSync(join(dataDir, 'ferry.db')), false);
    assert.equal(existsSync(join(dataDir, 'keys')), false);
    // A server on that prefix signs and seals with the rotated sets; a second rotation adds a third key.
    const f = await start(['--store', nats.url, '--nats-prefix', 'keys'], { dataDir });
    assert.equal((await f.api('POST', '/v1/secrets', { name: 'AFTER', value: 'sealed-with-the-new-key' })).status, 201);
    const again = await runCli(['keys', 'rotate', '--store', nats.url], { env: { FERRY_NATS_PREFIX: 'keys', FERRY_DATA_DIR: dataDir } });
    assert.match(again.stdout, /secrets-aes256 +[0-9a-f]{16} +3/);
  } finally {
    for (const f of started.splice(0)) await disposeFerry(f).catch(() => {});
    await rm(dataDir, { recursive: true, force: true });
  }
});
