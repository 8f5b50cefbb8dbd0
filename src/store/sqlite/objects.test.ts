/** The embedded object store's files: content-addressed, shared, removed with the last key, swept. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { ObjectPutOptions } from '../../core/objects.js';
import { SqliteStore } from './sqlite-store.js';

const opts = (over: Partial<ObjectPutOptions> = {}): ObjectPutOptions => ({ contentType: 'text/plain', maxBytes: 1 << 20, quotaBytes: 0, now: 1, ...over });
const sha = (b: string): string => createHash('sha256').update(b).digest('hex');

async function* body(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

async function withStore(fn: (s: SqliteStore, dir: string) => Promise<void>): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-objects-'));
  const s = new SqliteStore({ dataDir: dir });
  try {
    await s.ensureFunction({ name: 'f', owner: 'singular:a', createdAt: 1 });
    await fn(s, dir);
  } finally {
    await s.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

const blob = (dir: string, content: string): string => path.join(dir, 'objects', sha(content).slice(0, 2), sha(content));
const exists = (p: string): Promise<boolean> => fs.stat(p).then(() => true, () => false);

test('one blob per content, 0600 in 0700 dirs, unlinked with the last key that uses it', () =>
  withStore(async (s, dir) => {
    await s.objects.put('f', 'a', body('same'), opts());
    await s.objects.put('f', 'b', body('sa', 'me'), opts());
    const p = blob(dir, 'same');
    assert.equal((await fs.stat(p)).mode & 0o777, 0o600);
    assert.equal((await fs.stat(path.dirname(p))).mode & 0o777, 0o700);
    assert.equal((await fs.stat(path.join(dir, 'objects'))).mode & 0o777, 0o700);
    await s.objects.delete('f', 'a');
    assert.ok(await exists(p), 'b still uses it');
    await s.objects.put('f', 'b', body('other'), opts());
    assert.ok(!(await exists(p)), 'replaced: no key uses it');
    await s.deleteFunction('f');
    assert.ok(!(await exists(blob(dir, 'other'))), 'the function went, and its blobs');
    assert.deepEqual(await fs.readdir(path.join(dir, 'objects', '.tmp')), []);
  }));

test('a failed put leaves no temp file and no blob', () =>
  withStore(async (s, dir) => {
    await assert.rejects(s.objects.put('f', 'k', body('123', '456'), opts({ maxBytes: 4 })));
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('partial');
      throw new Error('client went away');
    }
    await assert.rejects(s.objects.put('f', 'k', broken(), opts()), /client went away/);
    await assert.rejects(s.objects.put('f', 'k', body('too much'), opts({ quotaBytes: 3 })));
    assert.deepEqual(await fs.readdir(path.join(dir, 'objects', '.tmp')), []);
    assert.ok(!(await exists(blob(dir, 'too much'))), 'a blob refused by the quota is removed');
  }));

test('at open, stale temp files and blobs no key uses are swept; fresh ones stay', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-objects-'));
  try {
    await new SqliteStore({ dataDir: dir }).close();
    const orphan = blob(dir, 'orphan');
    const fresh = blob(dir, 'fresh');
    await fs.mkdir(path.dirname(orphan), { recursive: true });
    await fs.mkdir(path.dirname(fresh), { recursive: true });
    await fs.writeFile(orphan, 'orphan');
    await fs.writeFile(fresh, 'fresh');
    const tmp = path.join(dir, 'objects', '.tmp', 'left');
    await fs.writeFile(tmp, 'x');
    const old = new Date(Date.now() - 2 * 3_600_000);
    await fs.utimes(orphan, old, old);
    await fs.utimes(tmp, old, old);
    await new SqliteStore({ dataDir: dir }).close();
    assert.ok(!(await exists(orphan)));
    assert.ok(!(await exists(tmp)));
    assert.ok(await exists(fresh), 'may be a commit in progress in another process');
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
