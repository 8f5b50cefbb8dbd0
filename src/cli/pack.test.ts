import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { list } from 'tar';
import { excluded, pack } from './pack.js';

const tmp = mkdtempSync(join(tmpdir(), 'ferry-pack-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function listing(file: string): Promise<Map<string, { mode: number; uid: number | undefined; uname: string | undefined }>> {
  const entries = new Map<string, { mode: number; uid: number | undefined; uname: string | undefined }>();
  await list({ file, onReadEntry: (e) => void entries.set(e.path.replace(/\/$/, ''), { mode: e.mode ?? 0, uid: e.uid, uname: e.uname }) });
  return entries;
}

describe('pack', () => {
  it('knows what to leave out', () => {
    assert.equal(excluded('.git'), true);
    assert.equal(excluded('./.git/HEAD'), true);
    assert.equal(excluded('sub/.git/config'), true);
    assert.equal(excluded('node_modules/.cache/x'), true);
    assert.equal(excluded('node_modules/.cache'), true);
    assert.equal(excluded('node_modules/left-pad/index.js'), false);
    assert.equal(excluded('.gitignore'), false);
    assert.equal(excluded('src/.cache'), false);
  });

  it('produces a tar.gz of the folder without .git and node_modules/.cache', async () => {
    const dir = join(tmp, 'fn');
    mkdirSync(join(dir, '.git', 'objects'), { recursive: true });
    mkdirSync(join(dir, 'node_modules', '.cache', 'tool'), { recursive: true });
    mkdirSync(join(dir, 'node_modules', 'dep'), { recursive: true });
    mkdirSync(join(dir, 'lib'), { recursive: true });
    writeFileSync(join(dir, 'ferry.json'), '{"runtime":"exec","command":["./run.sh"]}');
    writeFileSync(join(dir, 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
    writeFileSync(join(dir, 'lib', 'util.js'), 'export {}');
    writeFileSync(join(dir, '.gitignore'), 'x');
    writeFileSync(join(dir, '.git', 'HEAD'), 'ref: refs/heads/main');
    writeFileSync(join(dir, 'node_modules', '.cache', 'tool', 'blob'), 'cache');
    writeFileSync(join(dir, 'node_modules', 'dep', 'index.js'), 'module.exports = 1');

    const file = join(tmp, 'out.tar.gz');
    const size = await pack(dir, file);
    assert.ok(size > 0);
    const head = readFileSync(file).subarray(0, 2);
    assert.deepEqual([...head], [0x1f, 0x8b], 'gzip magic');

    const entries = await listing(file);
    const names = [...entries.keys()].sort();
    for (const want of ['ferry.json', 'run.sh', 'lib/util.js', '.gitignore', 'node_modules/dep/index.js']) {
      assert.ok(names.includes(want), `${want} in ${names.join(', ')}`);
    }
    assert.ok(!names.some((n) => n === '.git' || n.startsWith('.git/')), names.join(', '));
    assert.ok(!names.some((n) => n.startsWith('node_modules/.cache')), names.join(', '));
    assert.ok(!names.some((n) => n.startsWith('/') || n.startsWith('..')), 'relative entries only');
    assert.equal((entries.get('run.sh')!.mode & 0o111) !== 0, true, 'run.sh stays executable');
    assert.ok(!entries.get('ferry.json')!.uname, 'portable: no owner name');
  });

  it('refuses an empty folder', async () => {
    const dir = join(tmp, 'empty');
    mkdirSync(dir);
    await assert.rejects(pack(dir, join(tmp, 'empty.tar.gz')), /empty/);
  });
});
