/** Shared pieces of the commands: the connection flags and the client built from them. */
import type { Command } from 'commander';
import { Client } from '../client.js';
import { resolveConnection, type GlobalFlags } from '../config.js';

/**
 * Adds `--url`/`--token` to a command that talks to the API. The program has them too; the
 * program uses positional options, so both `ferry --url U functions list` and
 * `ferry functions list --url U` work.
 */
export function connectionOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'Ferry server URL (env FERRY_URL, default http://127.0.0.1:8080)')
    .option('--token <token>', 'API bearer token (env FERRY_TOKEN, default <data dir>/admin-token)');
}

export function clientFor(cmd: Command, env: NodeJS.ProcessEnv = process.env): Client {
  const flags = cmd.optsWithGlobals<GlobalFlags>();
  return new Client(resolveConnection(flags, env));
}
