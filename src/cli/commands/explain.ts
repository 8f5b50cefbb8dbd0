/** `ferry errors [code]`: what an error code means and what to do, as the server documents it. */
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { json, processIO, table, type IO } from '../output.js';
import { clientFor, connectionOptions } from './common.js';

interface ErrorEntry {
  code: string;
  status: number;
  title: string;
  fix: string;
}

export function register(program: Command, io: IO = processIO): void {
  connectionOptions(
    program.command('errors').description('what an error code (the word in parentheses of an error line) means and what to do; all codes without one').argument('[code]', 'an error code, e.g. name-taken').option('--json', 'print the raw JSON answer'),
  ).action(async (code: string | undefined, opts: { json?: boolean }, cmd: Command) => {
    const { errors } = await clientFor(cmd).json<{ errors: ErrorEntry[] }>('GET', '/v1/errors');
    const shown = code === undefined ? errors : errors.filter((e) => e.code === code);
    if (shown.length === 0) throw new CliError(`'${code}' is not an error code of this server (ferry errors lists them)`);
    if (opts.json) return void io.stdout.write(json(code === undefined ? { errors } : shown[0]));
    if (code === undefined) return void io.stdout.write(table(['CODE', 'STATUS', 'MEANING'], errors.map((e) => [e.code, String(e.status), e.title])));
    const e = shown[0]!;
    io.stdout.write(`${e.code} (${e.status}): ${e.title}\n${e.fix.replace(/`/g, '')}\n`);
  });
}
