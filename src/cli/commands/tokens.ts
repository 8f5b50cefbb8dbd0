/** `ferry tokens list|create|revoke`: long-lived API tokens. */
import type { Command } from 'commander';
import { seg } from '../client.js';
import { lifetime } from '../args.js';
import { formatTime, json, processIO, table, type IO } from '../output.js';
import { clientFor, connectionOptions } from './common.js';

interface TokenView {
  id: string;
  prefix: string;
  user: string;
  label: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

export function register(program: Command, io: IO = processIO): void {
  const group = program.command('tokens').description('create, list and revoke API tokens');
  connectionOptions(
    group.command('list', { isDefault: true }).alias('ls').description('list your API tokens').option('--user <name>', "another user's (admins)").option('--all', "everyone's (admins)").option('--json', 'print the raw JSON answer'),
  ).action(async (opts: { user?: string; all?: boolean; json?: boolean }, cmd: Command) => {
    const q = new URLSearchParams();
    if (opts.user) q.set('user', opts.user);
    if (opts.all) q.set('all', 'true');
    const r = await clientFor(cmd).json<{ tokens: TokenView[] }>('GET', `/v1/tokens${q.size ? `?${q}` : ''}`);
    if (opts.json) return void io.stdout.write(json(r));
    if (r.tokens.length === 0) return void io.stdout.write('No API tokens.\n');
    io.stdout.write(
      table(
        ['ID', 'PREFIX', 'USER', 'LABEL', 'CREATED', 'EXPIRES', 'STATE'],
        r.tokens.map((t) => [t.id, `${t.prefix}...`, t.user, t.label, formatTime(t.createdAt), t.expiresAt ? formatTime(t.expiresAt) : 'never', t.revokedAt ? 'revoked' : t.expiresAt && Date.parse(t.expiresAt) <= Date.now() ? 'expired' : 'valid']),
      ),
    );
  });
  connectionOptions(
    group
      .command('create')
      .description('create an API token; it is printed once')
      .option('--days <n>', 'lifetime in days (default 30)')
      .option('--seconds <n>', 'lifetime in seconds')
      .option('--user <name>', 'for another user (admins)')
      .option('--label <text>', 'a note to recognise it by')
      .option('--json', 'print the raw JSON answer'),
  ).action(async (opts: { days?: string; seconds?: string; user?: string; label?: string; json?: boolean }, cmd: Command) => {
    const body: Record<string, unknown> = lifetime(opts);
    if (opts.user) body.user = opts.user;
    if (opts.label) body.label = opts.label;
    const t = await clientFor(cmd).json<TokenView & { token: string }>('POST', '/v1/tokens', body);
    io.stdout.write(opts.json ? json(t) : `${t.token}\n`);
    if (!opts.json) io.stderr.write(`token ${t.id} for ${t.user}, expires ${t.expiresAt ?? 'never'}; it is not shown again\n`);
  });
  connectionOptions(group.command('revoke').alias('rm').description('revoke an API token').argument('<id>', 'token id (ferry tokens list)')).action(async (id: string, _o: unknown, cmd: Command) => {
    await clientFor(cmd).json('DELETE', seg`/v1/tokens/${id}`);
    io.stdout.write(`revoked token ${id}\n`);
  });
}
