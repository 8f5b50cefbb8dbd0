import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isFerryError } from '../errors/index.js';
import { checkOutputTree } from './output-tree.js';

async function tree(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-out-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'a', '.bin'), { recursive: true });
  await writeFile(join(dir, 'a', 'index.js'), 'module.exports = 1;\n');
  return dir;
}

const refused = (err: unknown): boolean => isFerryError(err) && err.code === 'build-failed';

test('links inside the package are kept: into the output, and out of it into the package', async (t) => {
  const dir = await tree(t);
  await symlink('../index.js', join(dir, 'a', '.bin', 'a'));
  // node_modules/x -> ../lib (a `file:` dependency of the package itself)
  await symlink('../lib', join(dir, 'x'));
  await checkOutputTree(dir, 'node_modules');
});

test('a link to an absolute path is refused', async (t) => {
  const dir = await tree(t);
  await symlink('/etc/shadow', join(dir, 'a', 'shadow'));
  await assert.rejects(checkOutputTree(dir, 'node_modules'), refused);
});

test('a link that climbs out of the package is refused', async (t) => {
  const dir = await tree(t);
  await symlink('../../../data', join(dir, 'a', 'up'));
  await assert.rejects(checkOutputTree(dir, 'node_modules'), refused);
  // From deeper in .ferry/site, the same count of `..` lands elsewhere: the output's place counts.
  const site = await tree(t);
  await symlink('../../../..', join(site, 'a', 'up'));
  await assert.rejects(checkOutputTree(site, '.ferry/site'), refused);
});

test('a fifo is refused', async (t) => {
  const dir = await tree(t);
  execFileSync('mkfifo', [join(dir, 'a', 'pipe')]);
  await assert.rejects(checkOutputTree(dir, 'node_modules'), refused);
});
