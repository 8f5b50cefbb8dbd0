import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { treeSize } from './tree-size.js';

test('treeSize adds the files of every folder, and never follows a link', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-tree-size-'));
  try {
    await mkdir(join(dir, 'a', 'b'), { recursive: true });
    await writeFile(join(dir, 'one'), Buffer.alloc(1000));
    await writeFile(join(dir, 'a', 'b', 'two'), Buffer.alloc(500));
    const outside = await mkdtemp(join(tmpdir(), 'ferry-tree-size-out-'));
    await writeFile(join(outside, 'big'), Buffer.alloc(100_000));
    await symlink(outside, join(dir, 'a', 'link'));
    const size = await treeSize(dir);
    await rm(outside, { recursive: true, force: true });
    assert.equal(size, 1500 + Buffer.byteLength(outside));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('treeSize stops once the total passes the cap', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-tree-size-'));
  try {
    for (let i = 0; i < 10; i++) await writeFile(join(dir, `f${i}`), Buffer.alloc(100));
    const size = await treeSize(dir, 250);
    assert.ok(size > 250 && size <= 400, `stopped at ${size}`);
    assert.equal(await treeSize(join(dir, 'missing')), 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
