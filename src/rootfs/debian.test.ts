// `ferry rootfs build --debian`: the debootstrap command it plans and the trimming of the tree it
// makes, on a small fake tree. The full debootstrap run (a minute and more of downloads from the
// Debian mirror) is not in the suite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { debootstrapArgv, trimDebianTree } from './debian.js';

test('debootstrap is asked for a minbase of the suite, amd64, with the packages given', () => {
  assert.deepEqual(debootstrapArgv('bookworm', '/t/root'), ['debootstrap', '--variant=minbase', '--arch=amd64', 'bookworm', '/t/root', 'http://deb.debian.org/debian']);
  assert.deepEqual(debootstrapArgv('trixie', '/t/root', 'http://mirror.example:8080/debian/', ['python3', 'ca-certificates']), [
    'debootstrap', '--variant=minbase', '--arch=amd64', '--include=python3,ca-certificates', 'trixie', '/t/root', 'http://mirror.example:8080/debian/',
  ]);
});

test('a suite, mirror or package that is not one (an option in disguise among them) is refused before anything runs', () => {
  const cases: Array<[string, string | undefined, string[], RegExp]> = [
    ['--foreign', undefined, [], /'--foreign' is not a Debian suite name/],
    ['bookworm sid', undefined, [], /is not a Debian suite name/],
    ['bookworm', 'file:///etc', [], /'file:\/\/\/etc' is not a mirror URL/],
    ['bookworm', 'http://deb.debian.org/debian --keyring=/x', [], /is not a mirror URL/],
    ['bookworm', undefined, ['python3', '--print-debs'], /'--print-debs' is not a Debian package name/],
    ['bookworm', undefined, ['a,b'], /'a,b' is not a Debian package name/],
  ];
  for (const [suite, mirror, include, message] of cases) {
    assert.throws(() => debootstrapArgv(suite, '/t/root', mirror, include), (err: Error & { code?: string }) => err.code === 'invalid-body' && message.test(err.message), `${suite} ${mirror} ${include.join(',')}`);
  }
});

test("the minbase is trimmed of apt's downloads and lists, docs, logs and /dev's nodes; the rest stays", () => {
  const root = mkdtempSync(join(tmpdir(), 'ferry-debian-tree-'));
  try {
    const files = [
      'var/cache/apt/archives/libc6_2.36_amd64.deb', 'var/cache/apt/archives/lock', 'var/cache/apt/pkgcache.bin',
      'var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease', 'var/lib/apt/lists/lock',
      'usr/share/doc/libc6/copyright', 'usr/share/man/man1/ls.1.gz', 'var/log/dpkg.log', 'dev/null',
      'usr/bin/ls', 'etc/debian_version', 'var/lib/dpkg/status', 'usr/share/zoneinfo/UTC',
    ];
    for (const f of files) {
      mkdirSync(dirname(join(root, f)), { recursive: true });
      writeFileSync(join(root, f), f);
    }
    mkdirSync(join(root, 'var/cache/apt/archives/partial'));
    assert.equal(trimDebianTree(root), 7);
    assert.deepEqual(files.filter((f) => existsSync(join(root, f))), ['var/cache/apt/archives/lock', 'var/lib/apt/lists/lock', 'usr/bin/ls', 'etc/debian_version', 'var/lib/dpkg/status', 'usr/share/zoneinfo/UTC']);
    assert.deepEqual(readdirSync(join(root, 'var/cache/apt/archives')).sort(), ['lock', 'partial']);
    assert.deepEqual(readdirSync(join(root, 'dev')), [], '/dev is left as an empty mount point');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
