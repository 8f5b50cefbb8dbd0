/** The `ferry` program: global options, the commands, and one-line error reporting. */
import { Command, CommanderError } from 'commander';
import * as aliases from './commands/aliases.js';
import * as del from './commands/delete.js';
import * as deploy from './commands/deploy.js';
import * as doctor from './commands/doctor.js';
import * as functions from './commands/functions.js';
import * as init from './commands/init.js';
import * as keys from './commands/keys.js';
import * as invoke from './commands/invoke.js';
import * as runCommand from './commands/run.js';
import * as logs from './commands/logs.js';
import * as executions from './commands/executions.js';
import * as login from './commands/login.js';
import * as users from './commands/users.js';
import * as tokens from './commands/tokens.js';
import * as secrets from './commands/secrets.js';
import * as objects from './commands/objects.js';
import * as server from './commands/server.js';
import * as tinyfaas from './commands/tinyfaas.js';
import * as versions from './commands/versions.js';
import { CommandExit, describeError, exitCodeOf } from './errors.js';
import { processIO, type IO } from './output.js';
import { packageVersion } from './paths.js';

export function buildProgram(io: IO = processIO): Command {
  const program = new Command('ferry')
    .description('Ferry: self-hosted functions. Talks to the server at FERRY_URL with FERRY_TOKEN.')
    .version(packageVersion(), '-V, --version', 'print the version')
    // Global options are read before the command only; API commands repeat --url/--token, so
    // `ferry deploy . --version v2` means the deploy option, not the program's version.
    .enablePositionalOptions()
    .option('--url <url>', 'Ferry server URL (env FERRY_URL, default http://127.0.0.1:8080)')
    .option('--token <token>', 'API bearer token (env FERRY_TOKEN, default <data dir>/admin-token)')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(`ferry: ${s.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ')}\n`),
    })
    .showSuggestionAfterError()
    .exitOverride();
  server.register(program);
  tinyfaas.register(program);
  init.register(program, io);
  deploy.register(program, io);
  invoke.register(program, io);
  runCommand.register(program, io);
  functions.register(program, io);
  versions.register(program, io);
  aliases.register(program, io);
  logs.register(program, io);
  executions.register(program, io);
  del.register(program, io);
  doctor.register(program, io);
  keys.register(program, io);
  login.register(program, io);
  users.register(program, io);
  tokens.register(program, io);
  secrets.register(program, io);
  objects.register(program, io);
  return program;
}

/** Runs the CLI; resolves with the exit code. Errors print as one line (stack with FERRY_DEBUG=1). */
export async function run(argv: string[], io: IO = processIO, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    await buildProgram(io).parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its message (through outputError); usage errors exit 2.
      return err.exitCode === 0 ? 0 : err.code === 'commander.help' || err.code === 'commander.helpDisplayed' ? err.exitCode : 2;
    }
    if (err instanceof CommandExit) return err.exitCode;
    if (env.FERRY_DEBUG === '1') io.stderr.write(`${debugDump(err)}\n`);
    io.stderr.write(`ferry: ${describeError(err).replace(/\s*\n\s*/g, ' ')}\n`);
    return exitCodeOf(err);
  }
}

function debugDump(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && depth < 5; depth++) {
    parts.push(depth === 0 ? String(e instanceof Error ? e.stack : e) : `caused by: ${String(e instanceof Error ? e.stack : e)}`);
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join('\n');
}
