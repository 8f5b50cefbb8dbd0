/** `ferry login|logout`, `ferry users ...` and `ferry tokens ...` against the real server. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFerry, disposeFerry, markSensitive, type Ferry } from './support/ferry.js';
import { runCli, show } from './support/helpers.js';

let ferry: Ferry;
let config: string;
before(async () => {
  markSensitive('dana-secret-pw', 'erin-secret-pw', 'cli-secret-value-1', 'cli-secret-value-2');
  ferry = await startFerry({ args: ['--driver', 'process', '--unsandboxed'] });
  config = await mkdtemp(join(tmpdir(), 'ferry-cli-config-'));
});
after(async () => {
  await disposeFerry(ferry);
  await rm(config, { recursive: true, force: true });
});

const asAdmin = (args: string[], input?: string) => runCli(args, { env: { FERRY_URL: ferry.url, FERRY_TOKEN: ferry.token }, ...(input !== undefined ? { input } : {}) });
const asLoggedIn = (args: string[], input?: string) => runCli(args, { env: { FERRY_URL: ferry.url, FERRY_CONFIG_DIR: config }, ...(input !== undefined ? { input } : {}) });

test('users create/list/get/set/rm as an admin', async () => {
  let r = await asAdmin(['users', 'create', 'dana', '--group', 'permission:read,permission:write', '--password-stdin'], 'dana-secret-pw\n');
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /created user dana/);
  r = await asAdmin(['users', 'list']);
  assert.match(r.stdout, /dana\s+permission:read,permission:write,singular:dana\s+yes/);
  r = await asAdmin(['users', 'set', 'dana', '--group', 'permission:read']);
  assert.equal(r.code, 0, show(r));
  r = await asAdmin(['users', 'get', 'dana', '--json']);
  assert.deepEqual((JSON.parse(r.stdout) as { groups: string[] }).groups, ['permission:read', 'singular:dana']);
  r = await asAdmin(['users', 'create', 'bad name']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /invalid-name|user name/);
  r = await asAdmin(['users', 'rm', 'dana']);
  assert.equal(r.code, 0, show(r));
});

test('login stores a token (0600) that later commands use; logout revokes it', async () => {
  assert.equal((await asAdmin(['users', 'create', 'erin', '--password-stdin'], 'erin-secret-pw\n')).code, 0);
  let r = await asLoggedIn(['login', '--user', 'erin', '--password-stdin'], 'wrong-password\n');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /invalid-credentials|wrong user name or password/);
  r = await asLoggedIn(['login', '--user', 'erin', '--password-stdin'], 'erin-secret-pw\n');
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /logged in to .* as erin/);
  const file = join(config, 'credentials.json');
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.ok(!(await readFile(file, 'utf8')).includes('erin-secret-pw'), 'the password is never stored');
  r = await asLoggedIn(['tokens', 'list']);
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /erin\s+ferry login on/);
  r = await asLoggedIn(['functions', 'list']);
  assert.equal(r.code, 0, show(r));
  r = await asLoggedIn(['logout']);
  assert.equal(r.code, 0, show(r));
  const cred = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  assert.equal(cred[ferry.url], undefined);
  const list = await asAdmin(['tokens', 'list', '--user', 'erin', '--json']);
  const tokens = (JSON.parse(list.stdout) as { tokens: Array<{ revokedAt: string | null }> }).tokens;
  assert.ok(tokens.length >= 1 && tokens.every((t) => t.revokedAt !== null), 'logout revoked the stored token');
});

test('tokens create prints the token once; revoke makes it fail', async () => {
  let r = await asAdmin(['tokens', 'create', '--seconds', '600', '--label', 'deploy-bot']);
  assert.equal(r.code, 0, show(r));
  const token = r.stdout.trim();
  assert.match(token, /^fry_/);
  const id = /token (\w+) for admin/.exec(r.stderr)?.[1];
  assert.ok(id, r.stderr);
  r = await runCli(['functions', 'list'], { env: { FERRY_URL: ferry.url, FERRY_TOKEN: token } });
  assert.equal(r.code, 0, show(r));
  r = await asAdmin(['tokens', 'revoke', id]);
  assert.equal(r.code, 0, show(r));
  r = await runCli(['functions', 'list'], { env: { FERRY_URL: ferry.url, FERRY_TOKEN: token } });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /revoked/);
});

test('secrets set (from stdin and from the environment), list, rm; the value is never printed', async () => {
  let r = await asAdmin(['secrets', 'set', 'CLI_SECRET'], 'cli-secret-value-1\n');
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /secret CLI_SECRET set in singular:admin/);
  r = await runCli(['secrets', 'set', 'CLI_OTHER', '--from-env', 'MY_VALUE'], { env: { FERRY_URL: ferry.url, FERRY_TOKEN: ferry.token, MY_VALUE: 'cli-secret-value-2' } });
  assert.equal(r.code, 0, show(r));
  r = await asAdmin(['secrets', 'list']);
  assert.match(r.stdout, /CLI_OTHER\s+singular:admin/);
  assert.match(r.stdout, /CLI_SECRET\s+singular:admin/);
  assert.ok(!r.stdout.includes('cli-secret-value'), 'a value was printed');
  r = await asAdmin(['secrets', 'rm', 'CLI_SECRET']);
  assert.equal(r.code, 0, show(r));
  r = await asAdmin(['secrets', 'rm', 'CLI_SECRET']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /secret-not-found|no secret/);
});
