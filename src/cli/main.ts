#!/usr/bin/env node
/** Entry point of the `ferry` command (package.json bin: dist/src/cli/main.js). */
import { beginLeanStart } from './lean-start.js';

// Before any other module loads: the server's start is what it is for.
if (process.argv[2] === 'server' || process.argv[2] === 'tinyfaas') beginLeanStart();
const { run } = await import('./program.js');

// `ferry invoke big | head`: a closed pipe ends the output quietly.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

process.exitCode = await run(process.argv);
