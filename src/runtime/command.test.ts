import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FerryError } from '../errors/index.js';
import { checkCommand, resolveCommand } from './command.js';
import { runDirAddresses } from '../sandbox/socket-channel/index.js';
import { hostRootfsView } from '../sandbox/rootfs/index.js';

const view = { packageDir: '/pkg', runDir: '/run/ferry', channel: runDirAddresses('/run/ferry'), rootfs: hostRootfsView };

test('an absolute program is a path inside the sandbox: nothing of the host is bound for it', () => {
  for (const program of ['/', '/root/.ssh/id_ed25519', '/usr/bin/env']) {
    assert.deepEqual(resolveCommand([program, '-x'], view), { argv: [program, '-x'], rootfs: [] });
  }
  // Package paths and programs Ferry resolves itself are what gets bound.
  assert.deepEqual(resolveCommand(['./run.sh'], view), { argv: ['/pkg/run.sh'], rootfs: [] });
  assert.deepEqual(resolveCommand(['node', 'x.js'], view), { argv: [process.execPath, 'x.js'], rootfs: [{ kind: 'node' }] });
});

test('an absolute program must be normalised', () => {
  for (const program of ['/usr/../root/x', '/usr/bin/./env', '//usr/bin/env', '/usr/bin/']) {
    assert.throws(() => checkCommand([program], 'exec'), (e: unknown) => e instanceof FerryError && e.code === 'invalid-manifest', program);
  }
  assert.deepEqual(checkCommand(['/usr/bin/env', 'a'], 'exec'), ['/usr/bin/env', 'a']);
});
