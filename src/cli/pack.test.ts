import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { list } from 'tar';
import { excluded, looksLikeCredentials, pack } from './pack.js';

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
    const { size } = await pack(dir, file);
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

  it('leaves out what .ferryignore names (gitignore syntax, negation and folders included)', async () => {
    const dir = join(tmp, 'ignored');
    mkdirSync(join(dir, 'build', 'deep'), { recursive: true });
    mkdirSync(join(dir, 'src'), { recursive: true });
    writeFileSync(join(dir, 'ferry.json'), '{"runtime":"node","handler":"src/index.js"}');
    writeFileSync(join(dir, 'src', 'index.js'), 'export default () => 1');
    writeFileSync(join(dir, 'build', 'deep', 'big.bin'), 'x');
    writeFileSync(join(dir, 'debug.log'), 'x');
    writeFileSync(join(dir, 'keep.log'), 'x');
    writeFileSync(join(dir, 'src', 'notes.tmp'), 'x');
    writeFileSync(join(dir, '.ferryignore'), '# not in the package\nbuild/\n*.log\n!keep.log\n**/*.tmp\n');
    const file = join(tmp, 'ignored.tar.gz');
    await pack(dir, file);
    const names = [...(await listing(file)).keys()].sort();
    assert.deepEqual(names, ['.ferryignore', 'ferry.json', 'keep.log', 'src', 'src/index.js']);
  });

  it('says which packed files look like credentials, and leaves them out when .ferryignore names them', async () => {
    for (const yes of ['.env', '.env.production', 'server.key', 'tls/cert.pem', 'id_rsa', 'id_ed25519', '.npmrc', '.netrc', '.git-credentials', 'credentials.json', 'service-account-prod.json', 'store.p12']) assert.equal(looksLikeCredentials(yes), true, yes);
    for (const no of ['.env.example', '.env.sample', 'id_rsa.pub', 'index.js', 'keys.js', 'environment.ts', 'monkey.txt', 'README.md']) assert.equal(looksLikeCredentials(no), false, no);
    const dir = join(tmp, 'creds');
    mkdirSync(join(dir, 'tls'), { recursive: true });
    writeFileSync(join(dir, 'ferry.json'), '{"runtime":"node","handler":"index.js"}');
    writeFileSync(join(dir, 'index.js'), 'export default () => 1');
    writeFileSync(join(dir, '.env'), 'DB_PASSWORD=x');
    writeFileSync(join(dir, '.env.example'), 'DB_PASSWORD=');
    writeFileSync(join(dir, 'tls', 'server.key'), 'x');
    assert.deepEqual((await pack(dir, join(tmp, 'creds.tar.gz'))).credentialFiles, ['.env', 'tls/server.key']);
    writeFileSync(join(dir, '.ferryignore'), '.env\n*.key\n');
    const packed = await pack(dir, join(tmp, 'creds2.tar.gz'));
    assert.deepEqual(packed.credentialFiles, []);
    const names = [...(await listing(join(tmp, 'creds2.tar.gz'))).keys()].sort();
    assert.deepEqual(names, ['.env.example', '.ferryignore', 'ferry.json', 'index.js', 'tls']);
  });
});
