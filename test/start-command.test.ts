// Starting the server as an operator does: the README's `npm start` after `npm ci` (which built
// Ferry), with its signals reaching the server itself rather than a shell in between; and a data
// dir the sandbox user cannot reach, refused at the start rather than failing every call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './support/ferry.js';
import { within } from './support/wait.js';

test('npm start: SIGINT to the started process reaches the server, which drains and exits 0', { timeout: 60_000 }, async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'ferry-start-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const npm = spawn('npm', ['start', '--silent', '--', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--driver', 'process', '--unsandboxed'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => npm.kill('SIGKILL'));
  let out = '';
  npm.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  npm.stderr!.setEncoding('utf8').on('data', (s: string) => (out += s));
  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
  await within('the server to listen', 30_000, new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (out.includes('Ferry listening')) resolve();
    };
    npm.stdout!.on('data', check);
    npm.stderr!.on('data', check);
    npm.once('exit', () => reject(new Error(`npm start exited before listening:\n${out}`)));
  }));
  npm.kill('SIGINT');
  const code = await within('npm start to exit after SIGINT', 20_000, exited);
  assert.match(out, /"signal":"SIGINT","msg":"shutting down"/, `the server itself got SIGINT:\n${out}`);
  assert.match(out, /"msg":"stopped"/);
  assert.equal(code, 0, out);
});

test('a data dir the sandbox user cannot reach (a 0700 parent) refuses the start, naming the directory and the fix', { timeout: 30_000 }, async (t) => {
  if (process.getuid?.() !== 0) {
    // Instances run as the server's own user then: no second user to reach the data dir.
    assert.notEqual(process.env.CI, 'true', 'CI runs the suite as root');
    t.skip('only as root do instances run as another user');
    return;
  }
  const top = await mkdtemp(join(tmpdir(), 'ferry-closed-'));
  t.after(() => rm(top, { recursive: true, force: true }));
  await chmod(top, 0o700);
  const server = spawn(process.execPath, [join(repoRoot, 'dist/src/cli/main.js'), 'server', '--port', '0', '--data-dir', join(top, 'data')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  server.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  server.stderr!.setEncoding('utf8').on('data', (s: string) => (out += s));
  const code = await within('the server to refuse the start', 20_000, new Promise<number | null>((resolve) => server.once('exit', resolve)));
  assert.notEqual(code, 0, out);
  assert.ok(out.includes(`${top} (mode 0700, owner uid 0) does not let the sandbox user (uid 2000000) through`), out);
  assert.ok(out.includes(`chmod o+x ${top}`), out);
  // `ferry doctor` says the same for that data dir.
  const doctor = spawn(process.execPath, [join(repoRoot, 'dist/src/cli/main.js'), 'doctor', '--json', '--data-dir', join(top, 'data')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let report = '';
  doctor.stdout!.setEncoding('utf8').on('data', (s: string) => (report += s));
  await within('ferry doctor', 20_000, new Promise((resolve) => doctor.once('exit', resolve)));
  const check = (JSON.parse(report) as { checks: Array<{ name: string; ok: boolean; fix?: string }> }).checks.find((c) => c.name === 'data-dir');
  assert.equal(check?.ok, false, report);
  assert.match(check?.fix ?? '', /chmod o\+x/);
});
