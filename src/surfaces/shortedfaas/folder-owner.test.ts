import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeRecord } from '../../core/index.js';
import { folderOwner } from './folder-owner.js';

const node = (id: string, roles: NodeRecord['roles'], deployDir?: string): NodeRecord => ({
  id, boot: 'b', roles, release: '0', startedAt: 0, at: 0, load: { inFlight: 0, instances: 0, executions: 0 }, capacity: { instances: 1, memoryMb: 1 }, warm: [], ...(deployDir ? { deployDir } : {}),
});

test('the live gateway with the lowest id among those announcing the folder owns it', () => {
  const nodes = [node('b2', ['gateway'], '/srv/fns'), node('a1', ['gateway'], '/srv/other'), node('a0', ['worker']), node('c3', ['gateway'], '/srv/fns')];
  assert.equal(folderOwner(nodes, 'c3', '/srv/fns'), 'b2', 'another folder and a worker do not count');
  assert.equal(folderOwner(nodes, 'a9', '/srv/fns'), 'a9', 'this node counts before its heartbeat is read back');
  assert.equal(folderOwner([], 'c3', '/srv/fns'), 'c3', 'alone, it owns the folder');
});
