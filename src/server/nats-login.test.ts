/** natsLogin: the NATS connection options a server builds from its settings, and what it refuses. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { loadServerOptions } from '../config/index.js';
import { natsLogin } from './nats-login.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-nats-login-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const options = (flags: Record<string, string>) => loadServerOptions({ store: 'nats://a:4222,tls://b:4222', ...flags }, {});

async function file(name: string, content: string, mode = 0o600): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, content, { mode });
  return p;
}

it('servers from the URL; user and password from the settings and the environment', async () => {
  const got = await natsLogin(options({ natsUser: 'ferry' }), { FERRY_NATS_PASSWORD: 'pw' });
  assert.deepEqual(got, { servers: ['nats://a:4222', 'tls://b:4222'], user: 'ferry', pass: 'pw', tls: {} });
});

it('a password or token from a file, its trailing newline dropped', async () => {
  const pw = await file('pw', 'secret-pw\n');
  const tok = await file('tok', 'secret-token\r\n');
  assert.equal((await natsLogin(options({ natsUser: 'ferry', natsPasswordFile: pw }), {})).pass, 'secret-pw');
  assert.equal((await natsLogin(options({ natsTokenFile: tok }), {})).token, 'secret-token');
});

it('TLS files, creds and seed files are passed on by path', async () => {
  const creds = await file('x.creds', 'creds');
  const seed = await file('seed', 'SU...');
  const key = await file('key.pem', 'key');
  const got = await natsLogin(options({ natsCreds: creds, natsNkeySeed: seed, natsTlsCa: '/etc/ca.pem', natsTlsCert: '/etc/cert.pem', natsTlsKey: key }), {});
  assert.deepEqual(got, { servers: ['nats://a:4222', 'tls://b:4222'], credsFile: creds, nkeySeedFile: seed, tls: { caFile: '/etc/ca.pem', certFile: '/etc/cert.pem', keyFile: key } });
});

it('refuses what would leak or half-work, naming the setting and never the secret', async () => {
  const open = await file('open-pw', 'leaky-password', 0o640);
  const refused = async (flags: Record<string, string>, env: Record<string, string>, message: RegExp): Promise<void> => {
    await assert.rejects(natsLogin(options(flags), env), (err: Error) => {
      assert.match(err.message, message);
      assert.doesNotMatch(err.message, /leaky-password|pw-in-env/);
      return true;
    });
  };
  await refused({ natsUser: 'ferry', natsPasswordFile: open }, {}, /--nats-password-file: .* is readable by others/);
  await refused({ natsCreds: open }, {}, /--nats-creds: .* is readable by others/);
  await refused({ natsUser: 'ferry', natsPasswordFile: await file('pw2', 'x') }, { FERRY_NATS_PASSWORD: 'pw-in-env' }, /FERRY_NATS_PASSWORD and --nats-password-file are both set/);
  await refused({}, { FERRY_NATS_PASSWORD: 'pw-in-env' }, /a NATS password needs a user/);
  await refused({ natsUser: 'ferry' }, {}, /NATS user 'ferry' has no password/);
  await refused({ natsTlsCert: '/etc/cert.pem' }, {}, /--nats-tls-cert and --nats-tls-key go together/);
  await refused({ natsTokenFile: join(dir, 'missing') }, {}, /--nats-token-file: .* cannot be read/);
});

it('a password in the URL is refused; a relative secret file path too', async () => {
  await assert.rejects(natsLogin(loadServerOptions({ store: 'nats://ferry:pw-in-url@a:4222' }, {}), {}), /does not go in the URL/);
  assert.throws(() => loadServerOptions({ store: 'nats://a:4222', natsPasswordFile: 'pw.txt' }, {}), /--nats-password-file: 'pw.txt' is not an absolute path/);
  assert.throws(() => loadServerOptions({ store: 'nats://a:4222', natsPrefix: 'a.b' }, {}), /--nats-prefix/);
});
