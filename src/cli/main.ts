#!/usr/bin/env node
/** Entry point of the `ferry` command (package.json bin: dist/src/cli/main.js). */
import { run } from './program.js';

// `ferry invoke big | head`: a closed pipe ends the output quietly.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

process.exitCode = await run(process.argv);
