import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SandboxSpec } from '../../core/index.js';
import { microvmRootfsView, withRootPrograms } from './spec-mapping.js';
import { ROOTFS_LAYOUT, type RootfsManifest } from './guest-layout.js';

test("a bare node or python3 (an ad-hoc run's) becomes the root's own; other programs and image roots are left as asked", () => {
  const manifest: RootfsManifest = { mode: 'debian', builtAt: '', kernel: '6.1', layout: ROOTFS_LAYOUT, node: '/.ferry/usr/bin/node', nodeCommand: ['/.ferry/lib/ld-linux-x86-64.so.2', '/.ferry/usr/bin/node'], python: '/usr/bin/python3', agent: '/a.js', rootBytes: 0, rootFiles: 0, initrdBytes: 0 };
  const view = microvmRootfsView(manifest);
  const spec = (argv: string[], root?: 'package'): SandboxSpec => ({ argv, ...(root && { root }) }) as unknown as SandboxSpec;
  assert.deepEqual(withRootPrograms(spec(['python3', '-c', 'print(1)']), view).argv, ['/usr/bin/python3', '-c', 'print(1)']);
  assert.deepEqual(withRootPrograms(spec(['node', '-e', '1']), view).argv, ['/.ferry/lib/ld-linux-x86-64.so.2', '/.ferry/usr/bin/node', '-e', '1']);
  assert.deepEqual(withRootPrograms(spec(['cat', '/etc/hostname']), view).argv, ['cat', '/etc/hostname'], 'refused later by checkSpec, never resolved on the host');
  assert.deepEqual(withRootPrograms(spec(['/usr/bin/python3']), view).argv, ['/usr/bin/python3']);
  assert.deepEqual(withRootPrograms(spec(['python3'], 'package'), view).argv, ['python3'], "an image's root is its own");
});
