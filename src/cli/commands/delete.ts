/** `ferry delete <name> [--version V]`. */
import type { Command } from 'commander';
import { checkName } from '../args.js';
import { seg, type Client } from '../client.js';
import { processIO, type IO } from '../output.js';
import { clientFor, connectionOptions } from './common.js';

/** Deletes the function (all its versions and aliases), or one version of it. */
export async function deleteFunction(client: Client, args: { name: string; version?: string | undefined }): Promise<void> {
  checkName('function', args.name);
  if (args.version === undefined) {
    await client.json('DELETE', seg`/v1/functions/${args.name}`);
  } else {
    checkName('version', args.version);
    await client.json('DELETE', seg`/v1/functions/${args.name}/versions/${args.version}`);
  }
}

export function register(program: Command, io: IO = processIO): void {
  connectionOptions(
    program
      .command('delete')
      .description('delete a function with all its versions, or one version')
      .argument('<name>', 'function name')
      .option('--version <version>', 'delete only this version'),
  ).action(async (name: string, opts: { version?: string }, cmd: Command) => {
    await deleteFunction(clientFor(cmd), { name, version: opts.version });
    io.stdout.write(opts.version === undefined ? `Deleted ${name}\n` : `Deleted ${name} ${opts.version}\n`);
  });
}
