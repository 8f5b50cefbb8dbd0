/** `ferry openapi`: the server's OpenAPI document, for tools and code generators. */
import type { Command } from 'commander';
import { json, processIO, type IO } from '../output.js';
import { clientFor, connectionOptions } from './common.js';

export function register(program: Command, io: IO = processIO): void {
  connectionOptions(program.command('openapi').description("print the server's OpenAPI 3.1 document (JSON)")).action(async (_opts: unknown, cmd: Command) => {
    io.stdout.write(json(await clientFor(cmd).json('GET', '/v1/openapi.json')));
  });
}
