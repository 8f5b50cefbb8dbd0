#!/usr/bin/env node
/** Entry point of the `ferry` command (package.json bin: dist/src/cli/main.js). */
import { beginLeanStart } from './lean-start.js';

// Before any other module loads: the server's start is what it is for.
const serverStart = process.argv[2] === 'server' || process.argv[2] === 'tinyfaas';
if (serverStart) beginLeanStart();
const { run } = await import('./program.js');
// One command loads its own module only (a server start: nothing of the other thirty stays in
// its memory); help and anything unknown load them all (commands/by-name.ts).
const { commandModuleFor } = await import('./commands/by-name.js');
const only = commandModuleFor(process.argv);
const commands = only ? [await only()] : undefined;

// `ferry invoke big | head`: a closed pipe ends the output quietly.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

process.exitCode = await run(process.argv, undefined, undefined, commands);
