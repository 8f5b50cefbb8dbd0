/**
 * Conformance suite of `NodeDirectory`: every backend runs it from its own test file with a
 * harness that opens directories on one shared store, as the nodes of one cluster would.
 * It asserts no timing: where a record must expire, it waits for that with a generous bound.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { NodeDirectory, NodeRecord } from '../core/nodes.js';

export interface NodeDirectoryHarness {
  /** A directory on the shared store whose records live `ttlMs`. */
  open(ttlMs: number): Promise<NodeDirectory>;
  /** Closes every directory opened and deletes the data. */
  cleanup(): Promise<void>;
}

export function node(id: string, over: Partial<NodeRecord> = {}): NodeRecord {
  return {
    id,
    boot: `${id}-boot`,
    roles: ['worker'],
    address: `http://127.0.0.1:${1000 + id.length}`,
    release: '0.1.0',
    startedAt: 1,
    at: Date.now(),
    load: { inFlight: 0, instances: 0, executions: 0 },
    capacity: { instances: 64, memoryMb: 4096 },
    warm: [],
    ...over,
  };
}

async function eventually(check: () => Promise<boolean>, what: string, boundMs = 30_000): Promise<void> {
  const end = Date.now() + boundMs;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`not within ${boundMs} ms: ${what}`);
    await sleep(50);
  }
}

export function nodeDirectorySuite(name: string, harness: () => Promise<NodeDirectoryHarness>): void {
  describe(`NodeDirectory conformance: ${name}`, () => {
    it('a heartbeat written by one node is read by another, whole', async () => {
      const h = await harness();
      try {
        const a = await h.open(60_000);
        const b = await h.open(60_000);
        const rec = node('worker-1', { roles: ['gateway', 'worker'], warm: ['hello@v1', 'a.b-c_d@v2'], load: { inFlight: 3, instances: 2, executions: 1 } });
        await a.announce(rec);
        assert.deepEqual(await b.list(), [rec]);
      } finally {
        await h.cleanup();
      }
    });

    it('a renewed heartbeat replaces the last one; nodes are listed by id', async () => {
      const h = await harness();
      try {
        const d = await h.open(60_000);
        await d.announce(node('b'));
        await d.announce(node('a'));
        const renewed = node('b', { load: { inFlight: 9, instances: 4, executions: 0 }, at: Date.now() + 1 });
        await d.announce(renewed);
        const list = await d.list();
        assert.deepEqual(list.map((n) => n.id), ['a', 'b']);
        assert.deepEqual(list[1], renewed);
      } finally {
        await h.cleanup();
      }
    });

    it('a node that leaves is gone at once; the others stay', async () => {
      const h = await harness();
      try {
        const d = await h.open(60_000);
        await d.announce(node('a'));
        await d.announce(node('b'));
        await d.leave('a');
        assert.deepEqual((await d.list()).map((n) => n.id), ['b']);
        await d.leave('never-there');
      } finally {
        await h.cleanup();
      }
    });

    it('a heartbeat not renewed within the time to live is gone; a renewed one stays', async () => {
      const h = await harness();
      try {
        const d = await h.open(1500);
        await d.announce(node('stale'));
        await d.announce(node('kept'));
        const renew = setInterval(() => void d.announce(node('kept')), 200);
        try {
          await eventually(async () => !(await d.list()).some((n) => n.id === 'stale'), 'the stale node expires');
          assert.deepEqual((await d.list()).map((n) => n.id), ['kept']);
        } finally {
          clearInterval(renew);
        }
      } finally {
        await h.cleanup();
      }
    });

    it('node ids with characters outside a plain name are kept apart and read back', async () => {
      const h = await harness();
      try {
        const d = await h.open(60_000);
        const odd = ['host.example.com:8080', 'a/b', 'x y'];
        for (const id of odd) await d.announce(node(id));
        assert.deepEqual((await d.list()).map((n) => n.id).sort(), [...odd].sort());
      } finally {
        await h.cleanup();
      }
    });
  });
}
