#!/usr/bin/env node
/** Entry point of the `ferry` command (package.json bin: dist/src/cli/main.js). */
import { beginLeanStart } from './lean-start.js';

// Before any other module loads: the server's start is what it is for.
const serverStart = process.argv[2] === 'server' || process.argv[2] === 'tinyfaas';
if (serverStart) beginLeanStart();
const { run } = await import('./program.js');
// A server start loads its own command only (see buildProgram).
const commands = serverStart ? [process.argv[2] === 'server' ? await import('./commands/server.js') : await import('./commands/tinyfaas.js')] : undefined;

// `ferry invoke big | head`: a closed pipe ends the output quietly.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

process.exitCode = await run(process.argv, undefined, undefined, commands);
