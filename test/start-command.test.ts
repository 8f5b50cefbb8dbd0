// The README's start command as an operator runs it: `npm start` after `npm ci` (which built
// Ferry), with its signals reaching the server itself rather than a shell in between.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
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
