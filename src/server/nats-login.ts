/**
 * How the server reaches NATS when `--store` is a NATS URL: the servers from the URL, the login
 * from the settings. Secrets never come from a command line (every local user can read one): a
 * password from FERRY_NATS_PASSWORD or a file, a token from FERRY_NATS_TOKEN or a file; every
 * file that holds a secret must be the server user's and mode 600. Errors name the setting,
 * never a secret.
 */
import { readFile, stat } from 'node:fs/promises';
import type { ServerOptions } from '../config/index.js';
import { parseNatsServers, type NatsConnectOptions } from '../nats/index.js';

/** Reads a secret file, refusing one others may read; trailing newlines are not part of it. */
async function secretFile(flag: string, file: string): Promise<string> {
  await checkPrivate(flag, file);
  return (await readFile(file, 'utf8')).replace(/[\r\n]+$/, '');
}

async function checkPrivate(flag: string, file: string): Promise<void> {
  const st = await stat(file).catch(() => {
    throw new Error(`${flag}: ${file} cannot be read`);
  });
  if (!st.isFile()) throw new Error(`${flag}: ${file} is not a file`);
  if (st.uid !== process.getuid?.()) throw new Error(`${flag}: ${file} must belong to the user the server runs as`);
  if ((st.mode & 0o077) !== 0) throw new Error(`${flag}: ${file} is readable by others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
}

/** One secret from its variable or its file, not both. */
async function oneOf(env: string, value: string | undefined, flag: string, file: string | undefined): Promise<string | undefined> {
  if (value !== undefined && file !== undefined) throw new Error(`${env} and ${flag} are both set: give the secret one way`);
  if (value !== undefined) return value;
  return file === undefined ? undefined : secretFile(flag, file);
}

/** The settings `natsLogin` reads: `ferry server`'s, and the autoscaler's (which shares them). */
export type NatsLoginSettings = Pick<ServerOptions, 'store' | 'natsUser' | 'natsPasswordFile' | 'natsTokenFile' | 'natsCreds' | 'natsNkeySeed' | 'natsTlsCa' | 'natsTlsCert' | 'natsTlsKey'>;

/** The connection options of `opts.store` (a NATS URL) with the login and TLS settings. */
export async function natsLogin(opts: NatsLoginSettings, env: NodeJS.ProcessEnv = process.env): Promise<NatsConnectOptions> {
  const { servers, user: urlUser } = parseNatsServers(opts.store);
  const user = opts.natsUser ?? urlUser;
  const pass = await oneOf('FERRY_NATS_PASSWORD', env.FERRY_NATS_PASSWORD, '--nats-password-file', opts.natsPasswordFile);
  const token = await oneOf('FERRY_NATS_TOKEN', env.FERRY_NATS_TOKEN, '--nats-token-file', opts.natsTokenFile);
  if (pass !== undefined && user === undefined) throw new Error('a NATS password needs a user: --nats-user (or nats://user@host in --store)');
  if (user !== undefined && pass === undefined && token === undefined && !opts.natsCreds && !opts.natsNkeySeed) {
    throw new Error(`NATS user '${user}' has no password: set FERRY_NATS_PASSWORD or --nats-password-file`);
  }
  if ((opts.natsTlsCert === undefined) !== (opts.natsTlsKey === undefined)) throw new Error('--nats-tls-cert and --nats-tls-key go together');
  for (const [flag, file] of [['--nats-creds', opts.natsCreds], ['--nats-nkey-seed', opts.natsNkeySeed], ['--nats-tls-key', opts.natsTlsKey]] as const) {
    if (file !== undefined) await checkPrivate(flag, file);
  }
  const tlsFiles = {
    ...(opts.natsTlsCa ? { caFile: opts.natsTlsCa } : {}),
    ...(opts.natsTlsCert ? { certFile: opts.natsTlsCert } : {}),
    ...(opts.natsTlsKey ? { keyFile: opts.natsTlsKey } : {}),
  };
  const tls = Object.keys(tlsFiles).length > 0 || servers.some((s) => s.startsWith('tls://'));
  return {
    servers,
    ...(user !== undefined ? { user } : {}),
    ...(pass !== undefined ? { pass } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(opts.natsCreds ? { credsFile: opts.natsCreds } : {}),
    ...(opts.natsNkeySeed ? { nkeySeedFile: opts.natsNkeySeed } : {}),
    ...(tls ? { tls: tlsFiles } : {}),
  };
}
