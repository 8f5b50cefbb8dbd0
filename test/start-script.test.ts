/**
 * The README's start command starts what `npm run build` built, with no build step of its own:
 * a start takes the time of a start, and the server is the process npm execs (so its signals
 * reach it; test/start-command.test.ts sends one).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from './support/ferry.js';

test('npm start runs the built server and builds nothing first', async () => {
  const { scripts } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.equal(scripts.prestart, undefined, 'no prestart step');
  assert.match(scripts.start ?? '', /^exec node dist\/src\/cli\/main\.js server$/);
  const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
  assert.match(readme, /&& npm start$/m, "the README's start command is npm start");
});
