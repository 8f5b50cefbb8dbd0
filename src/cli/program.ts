/** The `ferry` program: global options, the commands, and one-line error reporting. */
import { Command, CommanderError } from 'commander';
import { CommandExit, describeError, exitCodeOf } from './errors.js';
import { processIO, type IO } from './output.js';
import { packageVersion } from './paths.js';
import type { CommandModule } from './commands/index.js';

/**
 * The program with these commands: a run that names one command has that one alone (main.ts,
 * commands/by-name.ts): loading the other thirty costs a short command most of its start-up, and
 * a server at rest memory for its whole life.
 */
export function buildProgram(io: IO, commands: readonly CommandModule[]): Command {
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
  for (const command of commands) command.register(program, io);
  return program;
}

/** Runs the CLI; resolves with the exit code. Errors print as one line (stack with FERRY_DEBUG=1). */
export async function run(argv: string[], io: IO = processIO, env: NodeJS.ProcessEnv = process.env, commands?: readonly CommandModule[]): Promise<number> {
  try {
    await buildProgram(io, commands ?? (await import('./commands/index.js')).allCommands).parseAsync(argv);
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
