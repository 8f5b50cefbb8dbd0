/** `ferry users list|create|get|set|rm` (admins; anyone may `get` and `set --password` themselves). */
import type { Command } from 'commander';
import { seg } from '../client.js';
import { formatTime, json, processIO, table, type IO } from '../output.js';
import { readPassword } from '../password.js';
import { clientFor, connectionOptions } from './common.js';

interface UserView {
  name: string;
  groups: string[];
  hasPassword: boolean;
  createdAt: string;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

function usersTable(list: UserView[]): string {
  return table(['NAME', 'GROUPS', 'PASSWORD', 'CREATED'], list.map((u) => [u.name, u.groups.join(','), u.hasPassword ? 'yes' : 'no', formatTime(u.createdAt)]));
}

export function register(program: Command, io: IO = processIO, env: NodeJS.ProcessEnv = process.env): void {
  const group = program.command('users').description('manage users (admins), or your own password');
  connectionOptions(group.command('list', { isDefault: true }).alias('ls').description('list users').option('--json', 'print the raw JSON answer')).action(async (opts: { json?: boolean }, cmd: Command) => {
    const r = await clientFor(cmd).json<{ users: UserView[] }>('GET', '/v1/users');
    io.stdout.write(opts.json ? json(r) : usersTable(r.users));
  });
  connectionOptions(
    group
      .command('create')
      .description('create a user')
      .argument('<name>', 'user name: letters, digits, hyphens')
      .option('--group <group>', 'a group (repeat or comma-separate): permission:read|write|execute|remove|admin, custom:<name>', collect)
      .option('--password-stdin', 'read a password from standard input (else FERRY_PASSWORD; none: no password login)')
      .option('--json', 'print the raw JSON answer'),
  ).action(async (name: string, opts: { group?: string[]; passwordStdin?: boolean; json?: boolean }, cmd: Command) => {
    const body: Record<string, unknown> = { name };
    if (opts.group) body.groups = opts.group;
    if (opts.passwordStdin || env.FERRY_PASSWORD) body.password = await readPassword({ stdin: opts.passwordStdin ?? false }, env);
    const u = await clientFor(cmd).json<UserView>('POST', '/v1/users', body);
    io.stdout.write(opts.json ? json(u) : `created user ${u.name} (${u.groups.join(', ')})\n`);
  });
  connectionOptions(group.command('get').description('show a user').argument('<name>', 'user name').option('--json', 'print the raw JSON answer')).action(
    async (name: string, opts: { json?: boolean }, cmd: Command) => {
      const u = await clientFor(cmd).json<UserView>('GET', seg`/v1/users/${name}`);
      io.stdout.write(opts.json ? json(u) : usersTable([u]));
    },
  );
  connectionOptions(
    group
      .command('set')
      .description("change a user's groups (admins) or password")
      .argument('<name>', 'user name')
      .option('--group <group>', 'the new groups (repeat or comma-separate); replaces the old ones', collect)
      .option('--password', 'set a new password (read like login: --password-stdin, FERRY_PASSWORD or a prompt)')
      .option('--password-stdin', 'read the new password from standard input')
      .option('--json', 'print the raw JSON answer'),
  ).action(async (name: string, opts: { group?: string[]; password?: boolean; passwordStdin?: boolean; json?: boolean }, cmd: Command) => {
    const body: Record<string, unknown> = {};
    if (opts.group) body.groups = opts.group;
    if (opts.password || opts.passwordStdin) body.password = await readPassword({ stdin: opts.passwordStdin ?? false }, env, 'New password: ');
    const u = await clientFor(cmd).json<UserView>('PATCH', seg`/v1/users/${name}`, body);
    io.stdout.write(opts.json ? json(u) : `updated user ${u.name} (${u.groups.join(', ')})\n`);
  });
  connectionOptions(group.command('rm').alias('delete').description('delete a user and revoke its tokens').argument('<name>', 'user name')).action(async (name: string, _o: unknown, cmd: Command) => {
    await clientFor(cmd).json('DELETE', seg`/v1/users/${name}`);
    io.stdout.write(`deleted user ${name}\n`);
  });
}
