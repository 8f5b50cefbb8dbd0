import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { linkTree } from './link-tree.js';

test('a package tree is linked, not copied: same inodes, symbolic links kept as links, nothing else', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-link-tree-'));
  try {
    const from = join(dir, 'from');
    mkdirSync(join(from, 'bin', 'deep'), { recursive: true });
    mkdirSync(join(from, 'private'), { mode: 0o700 });
    writeFileSync(join(from, 'bin', 'deep', 'tool'), 'a tool\n', { mode: 0o755 });
    writeFileSync(join(from, 'note.txt'), 'a note\n');
    symlinkSync('/etc/shadow', join(from, 'abs-link'));
    symlinkSync('bin/deep/tool', join(from, 'rel-link'));
    execFileSync('mkfifo', [join(from, 'fifo')]);
    const to = join(dir, 'to');
    mkdirSync(to, { mode: 0o755 });
    await linkTree(from, to);
    for (const f of ['bin/deep/tool', 'note.txt']) assert.equal(statSync(join(to, f)).ino, statSync(join(from, f)).ino, `${f}: the same inode`);
    assert.equal(readFileSync(join(to, 'note.txt'), 'utf8'), 'a note\n');
    assert.equal(statSync(join(to, 'bin', 'deep', 'tool')).mode & 0o777, 0o755);
    assert.equal(statSync(join(to, 'private')).mode & 0o777, 0o700, 'directory modes kept');
    // Links are recreated, never followed (a link to /etc/shadow stays a link).
    assert.ok(lstatSync(join(to, 'abs-link')).isSymbolicLink());
    assert.equal(readlinkSync(join(to, 'abs-link')), '/etc/shadow');
    assert.equal(readlinkSync(join(to, 'rel-link')), 'bin/deep/tool');
    assert.equal(existsSync(join(to, 'fifo')), false, 'a FIFO is not part of a package');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
