/**
 * Every route of the management API has a `ferry` command: walks the OpenAPI document a real
 * server serves and finds, for each `/v1` operation, the command src/cli/routes.ts names for it,
 * in the program as built, or an exception docs/cli.md explains.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../src/cli/program.js';
import { allCommands } from '../src/cli/commands/index.js';
import { processIO } from '../src/cli/output.js';
import { routeCommands, uncoveredRoutes } from '../src/cli/routes.js';
import { startFerry, disposeFerry, repoRoot, type Ferry } from './support/ferry.js';

let ferry: Ferry;
before(async () => {
  ferry = await startFerry({ args: ['--driver', 'process', '--unsandboxed'] });
});
after(async () => {
  await disposeFerry(ferry);
});

/** `METHOD /v1/...` of every operation of the served document. */
async function apiRoutes(): Promise<string[]> {
  const res = await fetch(`${ferry.url}/v1/openapi.json`);
  assert.equal(res.status, 200);
  const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
  const out: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    if (!path.startsWith('/v1/')) continue;
    for (const method of Object.keys(ops)) out.push(`${method.toUpperCase()} ${path}`);
  }
  return out;
}

/** The subcommand at `words` (`aliases rm`), by name or alias; undefined when there is none. */
function findCommand(root: Command, words: string[]): Command | undefined {
  let at: Command | undefined = root;
  for (const w of words) at = at?.commands.find((c) => c.name() === w || c.aliases().includes(w));
  return at;
}

test('every /v1 route of the OpenAPI document has a ferry command, or a documented exception', async () => {
  const routes = await apiRoutes();
  assert.ok(routes.length > 40, `the document lists ${routes.length} /v1 routes`);
  const program = buildProgram(processIO, allCommands);
  const missing: string[] = [];
  for (const route of routes) {
    const command = routeCommands[route];
    if (command === undefined) {
      if (!(route in uncoveredRoutes)) missing.push(route);
      continue;
    }
    const found = findCommand(program, command.split(' '));
    assert.ok(found, `${route}: src/cli/routes.ts names 'ferry ${command}', which the program does not have`);
    assert.equal(found.commands.length, 0, `${route}: 'ferry ${command}' is a group of commands, not one command`);
  }
  assert.deepEqual(missing, [], `no ferry command covers these routes: add one (and its row in src/cli/routes.ts), or an exception`);
});

test('the tables name only routes the server has', async () => {
  const routes = new Set(await apiRoutes());
  for (const route of [...Object.keys(routeCommands), ...Object.keys(uncoveredRoutes)]) assert.ok(routes.has(route), `src/cli/routes.ts names ${route}, which the OpenAPI document does not list`);
  for (const route of Object.keys(uncoveredRoutes)) assert.ok(!(route in routeCommands), `${route} is both covered and an exception`);
});

test('docs/cli.md lists every route no command covers, and why', async () => {
  const doc = await readFile(join(repoRoot, 'docs/cli.md'), 'utf8');
  for (const route of Object.keys(uncoveredRoutes)) assert.ok(doc.includes(`\`${route}\``), `docs/cli.md should name \`${route}\` among the routes no command covers`);
});
