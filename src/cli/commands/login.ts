/** `ferry login`, `ferry register` and `ferry logout`. */
import type { Command } from 'commander';
import { hostname } from 'node:os';
import { Client } from '../client.js';
import { resolveConnection, type GlobalFlags } from '../config.js';
import { loadCredential, saveCredential } from '../credentials.js';
import { usageError } from '../errors.js';
import { processIO, type IO } from '../output.js';
import { readPassword } from '../password.js';

interface Session {
  accessToken: string;
  user: string;
}

/**
 * Logs in with name and password, then trades the short-lived access token for an API token of
 * its own (30 days by default) stored for this server URL, so later commands need no password.
 */
export function register(program: Command, io: IO = processIO, env: NodeJS.ProcessEnv = process.env): void {
  program
    .command('login')
    .description('log in with your name and password; later commands use the token it stores')
    .option('--url <url>', 'Ferry server URL (env FERRY_URL, default http://127.0.0.1:8080)')
    .option('--user <name>', 'user name (env FERRY_USER)')
    .option('--password-stdin', 'read the password from standard input (else FERRY_PASSWORD, else a prompt)')
    .option('--days <n>', 'lifetime of the stored token in days', '30')
    .action(async (opts: { user?: string; passwordStdin?: boolean; days: string }, cmd: Command) => {
      const { conn, user, days, password } = await askCredentials(opts, cmd, env);
      const session = await new Client({ url: conn.url, token: undefined }).json<Session>('POST', '/v1/auth/login', { name: user, password });
      await keepSession(conn.url, session, days, io, env, 'logged in to');
    });
  program
    .command('register')
    .description('create your account (when the server takes registrations, or with an invite) and log in')
    .option('--url <url>', 'Ferry server URL (env FERRY_URL, default http://127.0.0.1:8080)')
    .option('--user <name>', 'the user name to take (env FERRY_USER)')
    .option('--invite <invite>', 'the invite an admin gave you (ferry invites create)')
    .option('--password-stdin', 'read the password from standard input (else FERRY_PASSWORD, else a prompt)')
    .option('--days <n>', 'lifetime of the stored token in days', '30')
    .action(async (opts: { user?: string; invite?: string; passwordStdin?: boolean; days: string }, cmd: Command) => {
      const { conn, user, days, password } = await askCredentials(opts, cmd, env);
      const session = await new Client({ url: conn.url, token: undefined }).json<Session>('POST', '/v1/auth/register', { name: user, password, ...(opts.invite ? { invite: opts.invite } : {}) });
      await keepSession(conn.url, session, days, io, env, 'registered and logged in to');
    });
  program
    .command('logout')
    .description('revoke and forget the token `ferry login` stored for this server')
    .option('--url <url>', 'Ferry server URL (env FERRY_URL, default http://127.0.0.1:8080)')
    .action(async (_opts: unknown, cmd: Command) => {
      const conn = resolveConnection({ url: cmd.optsWithGlobals<GlobalFlags>().url }, env);
      const cred = loadCredential(env, conn.url);
      if (!cred) {
        io.stdout.write(`not logged in to ${conn.url}\n`);
        return;
      }
      // Revoked first: a token that only vanished from this machine would still work elsewhere.
      await new Client({ url: conn.url, token: cred.token }).json('DELETE', `/v1/tokens/${encodeURIComponent(cred.tokenId)}`).catch(() => undefined);
      saveCredential(env, conn.url, undefined);
      io.stdout.write(`logged out of ${conn.url}\n`);
    });
}

/** The server, user name, token lifetime and password of `login` and `register`. */
async function askCredentials(opts: { user?: string; passwordStdin?: boolean; days: string }, cmd: Command, env: NodeJS.ProcessEnv): Promise<{ conn: { url: string }; user: string; days: number; password: string }> {
  const conn = resolveConnection({ url: cmd.optsWithGlobals<GlobalFlags>().url }, env);
  const user = opts.user ?? env.FERRY_USER;
  if (!user) throw usageError('give --user NAME (or FERRY_USER)');
  const days = Number(opts.days);
  if (!(days > 0)) throw usageError('--days: a positive number');
  return { conn, user, days, password: await readPassword({ stdin: opts.passwordStdin ?? false }, env) };
}

/** Trades a session's short-lived access token for an API token and stores it for `url`. */
async function keepSession(url: string, session: Session, days: number, io: IO, env: NodeJS.ProcessEnv, said: string): Promise<void> {
  const asUser = new Client({ url, token: session.accessToken });
  const tok = await asUser.json<{ token: string; id: string; expiresAt: string | null }>('POST', '/v1/tokens', { days, label: `ferry login on ${hostname()}` });
  saveCredential(env, url, { user: session.user, token: tok.token, tokenId: tok.id, expiresAt: tok.expiresAt });
  io.stdout.write(`${said} ${url} as ${session.user} (token ${tok.token.slice(0, 10)}..., expires ${tok.expiresAt ?? 'never'})\n`);
}
