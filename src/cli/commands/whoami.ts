/** `ferry whoami` and `ferry invites create`: who the token is, and registration invites. */
import type { Command } from 'commander';
import { lifetime } from '../args.js';
import { json, processIO, type IO } from '../output.js';
import { clientFor, connectionOptions } from './common.js';

export function register(program: Command, io: IO = processIO): void {
  connectionOptions(program.command('whoami').description('the user and groups of the token in use').option('--json', 'print the raw JSON answer')).action(async (opts: { json?: boolean }, cmd: Command) => {
    const r = await clientFor(cmd).json<{ user: string; groups: string[]; via?: string }>('GET', '/v1/auth/whoami');
    io.stdout.write(opts.json ? json(r) : `${r.user} (${r.groups.join(', ')})\n`);
  });
  const invites = program.command('invites').description('registration invites (for a server run with --registration invite)');
  connectionOptions(
    invites.command('create').description('create a single-use invite; it is printed once').option('--days <n>', 'lifetime in days').option('--seconds <n>', 'lifetime in seconds').option('--json', 'print the raw JSON answer'),
  ).action(async (opts: { days?: string; seconds?: string; json?: boolean }, cmd: Command) => {
    const r = await clientFor(cmd).json<{ invite: string; expiresAt: string | null }>('POST', '/v1/auth/invites', lifetime(opts));
    io.stdout.write(opts.json ? json(r) : `${r.invite}\n`);
    if (!opts.json) io.stderr.write(`expires ${r.expiresAt ?? 'never'}; use it once: ferry register --user NAME --invite ${r.invite.slice(0, 6)}...\n`);
  });
}
