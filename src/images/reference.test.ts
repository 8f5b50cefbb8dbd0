import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FerryError } from '../errors/index.js';
import { formatImageReference, parseImageReference } from './reference.js';

const hex = 'a'.repeat(64);

test('host[:port]/repo[:tag][@digest]; the tag defaults to latest unless a digest is given', () => {
  assert.deepEqual(parseImageReference('registry.example.com/busybox'), { registry: 'registry.example.com', repository: 'busybox', tag: 'latest', digest: undefined });
  assert.deepEqual(parseImageReference('127.0.0.1:5000/team/tools/busybox:1.36'), { registry: '127.0.0.1:5000', repository: 'team/tools/busybox', tag: '1.36', digest: undefined });
  assert.deepEqual(parseImageReference(`Reg.Example.com/a/b@sha256:${hex}`), { registry: 'reg.example.com', repository: 'a/b', tag: undefined, digest: `sha256:${hex}` });
  assert.deepEqual(parseImageReference(`localhost/x:v1@sha256:${hex}`), { registry: 'localhost', repository: 'x', tag: 'v1', digest: `sha256:${hex}` });
  assert.equal(parseImageReference('[::1]:5000/x').registry, '[::1]:5000');
  assert.equal(formatImageReference(parseImageReference('r.io/a/b:c')), 'r.io/a/b:c');
});

test('a bare name is refused: Ferry has no default registry', () => {
  for (const bare of ['busybox', 'library/busybox', 'busybox:latest']) {
    assert.throws(() => parseImageReference(bare), (e: unknown) => e instanceof FerryError && e.code === 'image-invalid' && /name the registry, e\.g\. registry\.example\.com\/.*no default registry/.test(e.message), bare);
  }
});

test('malformed references get image-invalid saying what is wrong', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /is empty/],
    ['r.io/', /no repository/],
    ['r.io/Upper', /lower-case/],
    ['r.io/a//b', /lower-case/],
    ['r.io/a:bad tag', /the tag/],
    ['r.io/a@sha256:abc', /64 lower-case hex/],
    ['r.io/a@md5:' + hex, /the digest must be sha256/],
    ['r.io:99999/a', /not a host\[:port\]/],
    ['-bad.io/a', /not a host\[:port\]/],
    ['r.io/' + 'a'.repeat(600), /longer than 512/],
  ];
  for (const [ref, why] of cases) {
    assert.throws(() => parseImageReference(ref), (e: unknown) => e instanceof FerryError && e.code === 'image-invalid' && why.test(e.message), ref);
  }
});
