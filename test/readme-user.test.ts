// The README's example user, with the groups the README gives her: she can do and undo what the
// README has her do (log in, keep a secret, call a function and wait for it), and manage her own
// function's objects, through the real CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFerry, disposeFerry, repoRoot } from './support/ferry.js';
import { runCli } from './support/helpers.js';
import { manifest } from './support/fn.js';

test("the README's user dana: login, secrets set and rm, invoke --async --wait, her own function's objects put and rm", { timeout: 90_000 }, async (t) => {
  const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
  const create = /ferry users create (\w+) --group (\S+) --password-stdin/.exec(readme);
  assert.ok(create, 'the README creates a user');
  const [, user, groups] = create;
  const ferry = await startFerry();
  t.after(() => disposeFerry(ferry));
  const home = await mkdtemp(join(tmpdir(), 'ferry-dana-'));
  t.after(() => rm(home, { recursive: true, force: true }));
  const admin = { FERRY_URL: ferry.url, FERRY_TOKEN: ferry.token, HOME: home };
  const as = { FERRY_URL: ferry.url, HOME: home };
  const ok = async (env: Record<string, string>, args: string[], input?: string): Promise<string> => {
    const r = await runCli(args, { env, ...(input !== undefined && { input }), timeoutMs: 60_000 });
    assert.equal(r.code, 0, `ferry ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  // As the README: the admin deploys hello, then creates the user with the README's groups.
  await ferry.deploy('hello', { 'ferry.json': manifest({ runtime: 'node', handler: 'index.js' }), 'package.json': '{"type":"module"}', 'index.js': "export default () => 'Hello, world!';\n" });
  await ok(admin, ['users', 'create', user!, '--group', groups!, '--password-stdin'], 'dana-password-1234\n');
  await ok(as, ['login', '--user', user!, '--password-stdin'], 'dana-password-1234\n');
  await ok(as, ['secrets', 'set', 'DATABASE_URL'], 'postgres://db.example/app\n');
  assert.match(await ok(as, ['invoke', 'hello', '--async', '--wait']), /Hello, world!/);
  await ok(as, ['secrets', 'rm', 'DATABASE_URL']);

  // Her own function, and its objects.
  const dir = join(home, 'notes');
  await ok(as, ['init', dir, '--runtime', 'node']);
  await ok(as, ['deploy', dir]);
  const file = join(home, 'a.txt');
  await writeFile(file, 'a note');
  await ok(as, ['objects', 'put', 'notes', 'a.txt', file]);
  assert.match(await ok(as, ['objects', 'ls', 'notes']), /a\.txt/);
  await ok(as, ['objects', 'rm', 'notes', 'a.txt']);
  assert.doesNotMatch(await ok(as, ['objects', 'ls', 'notes']), /a\.txt/);
});
