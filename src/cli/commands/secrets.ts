/** `ferry secrets create|set|list|rm`: values go in through standard input or the environment, never argv. */
import type { Command } from 'commander';
import { seg } from '../client.js';
import { usageError } from '../errors.js';
import { formatTime, json, processIO, table, type IO } from '../output.js';
import { clientFor, connectionOptions } from './common.js';

interface SecretView {
  name: string;
  group: string;
  createdAt: string;
  updatedAt: string;
}

async function readValue(fromEnv: string | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  if (fromEnv !== undefined) {
    const v = env[fromEnv];
    if (v === undefined) throw usageError(`--from-env ${fromEnv}: that variable is not set`);
    return v;
  }
  if (process.stdin.isTTY) throw usageError('pipe the value in (ferry secrets set NAME < file), or use --from-env VAR');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin as AsyncIterable<Buffer>) chunks.push(c);
  // One trailing newline is what `echo` and editors add, not part of the value.
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

const groupQuery = (group: string | undefined): string => (group ? `?group=${encodeURIComponent(group)}` : '');

export function register(program: Command, io: IO = processIO, env: NodeJS.ProcessEnv = process.env): void {
  const group = program.command('secrets').description('manage secrets (values are write-only)');
  // `set` replaces (PUT), `create` refuses an existing name (POST); both read the value the same way.
  const writes = [
    { verb: 'set', says: 'create or replace a secret', did: 'set', send: (name: string, value: string, group?: string) => ['PUT', seg`/v1/secrets/${name}` + groupQuery(group), { value }] as const },
    { verb: 'create', says: 'create a secret, refused when it exists', did: 'created', send: (name: string, value: string, group?: string) => ['POST', '/v1/secrets', { name, value, ...(group ? { group } : {}) }] as const },
  ];
  for (const w of writes) {
    connectionOptions(
      group
        .command(w.verb)
        .description(`${w.says}; the value is read from standard input`)
        .argument('<name>', 'secret name (an environment variable name)')
        .option('--group <group>', 'owning group: custom:<name> (default: your own)')
        .option('--from-env <var>', 'take the value from this environment variable instead of standard input')
        .option('--json', 'print the raw JSON answer'),
    ).action(async (name: string, opts: { group?: string; fromEnv?: string; json?: boolean }, cmd: Command) => {
      const [method, path, body] = w.send(name, await readValue(opts.fromEnv, env), opts.group);
      const r = await clientFor(cmd).json<SecretView>(method, path, body);
      io.stdout.write(opts.json ? json(r) : `secret ${r.name} ${w.did} in ${r.group}\n`);
    });
  }
  connectionOptions(group.command('list', { isDefault: true }).alias('ls').description("list your groups' secrets (names only)").option('--group <group>', 'only this group').option('--json', 'print the raw JSON answer')).action(
    async (opts: { group?: string; json?: boolean }, cmd: Command) => {
      const r = await clientFor(cmd).json<{ secrets: SecretView[] }>('GET', `/v1/secrets${groupQuery(opts.group)}`);
      if (opts.json) return void io.stdout.write(json(r));
      if (r.secrets.length === 0) return void io.stdout.write('No secrets.\n');
      io.stdout.write(table(['NAME', 'GROUP', 'UPDATED'], r.secrets.map((s) => [s.name, s.group, formatTime(s.updatedAt)])));
    },
  );
  connectionOptions(group.command('rm').alias('delete').description('delete a secret').argument('<name>', 'secret name').option('--group <group>', 'owning group: custom:<name>')).action(
    async (name: string, opts: { group?: string }, cmd: Command) => {
      await clientFor(cmd).json('DELETE', seg`/v1/secrets/${name}` + groupQuery(opts.group));
      io.stdout.write(`deleted secret ${name}\n`);
    },
  );
}
