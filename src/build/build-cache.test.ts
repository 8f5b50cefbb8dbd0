import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuildCache } from './build-cache.js';

test('past its cap the cache removes the least recently used entries, whole', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ferry-build-cache-'));
  try {
    const dir = join(root, 'cache');
    const cache = new BuildCache(dir, 2500);
    const tree = async (name: string): Promise<string> => {
      const t = join(root, `tree-${name}`);
      await mkdir(t);
      await writeFile(join(t, 'file'), Buffer.alloc(1000, name));
      return t;
    };
    await cache.put('a', await tree('a'));
    await cache.put('b', await tree('b'));
    // a was built first but used last: b is the one to go.
    await utimes(join(dir, 'a'), new Date(2000), new Date(2000));
    await utimes(join(dir, 'b'), new Date(3000), new Date(3000));
    assert.equal(await cache.reuse('a', join(root, 'copy-a')), true);
    assert.equal((await readFile(join(root, 'copy-a', 'file'))).length, 1000);
    await cache.put('c', await tree('c'));
    assert.deepEqual((await readdir(dir)).sort(), ['a', 'c'], 'b was removed, and nothing is left aside');
    assert.equal(await cache.reuse('b', join(root, 'copy-b')), false);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('an entry over the cap on its own is not kept', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ferry-build-cache-'));
  try {
    const tree = join(root, 'tree');
    await mkdir(tree);
    await writeFile(join(tree, 'file'), Buffer.alloc(2000));
    const cache = new BuildCache(join(root, 'cache'), 1000);
    await cache.put('big', tree);
    assert.deepEqual(await readdir(join(root, 'cache')), []);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
