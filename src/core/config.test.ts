// The configuration an instance runs with: manifest, then override, then the defaults.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { effectiveConfig } from './config.js';
import type { Manifest } from './manifest.js';

const of = (manifest: Manifest, override: Record<string, unknown> = {}) => effectiveConfig({ manifest, override } as Parameters<typeof effectiveConfig>[0]);

test('concurrency defaults by runtime: 100 for those that serve calls concurrently, 16 for exec; set values win', () => {
  assert.equal(of({ runtime: 'node', handler: 'i.js' }).scaling.concurrency, 100);
  assert.equal(of({ runtime: 'python', handler: 'main.py' }).scaling.concurrency, 100);
  assert.equal(of({ runtime: 'http', command: ['srv'] } as Manifest).scaling.concurrency, 100);
  assert.equal(of({ runtime: 'exec', command: ['cat'] } as Manifest).scaling.concurrency, 16);
  assert.equal(of({ runtime: 'node', handler: 'i.js', scaling: { concurrency: 8 } } as Manifest).scaling.concurrency, 8);
  assert.equal(of({ runtime: 'exec', command: ['cat'] } as Manifest, { scaling: { concurrency: 3 } }).scaling.concurrency, 3);
  assert.equal(of({ runtime: 'node', handler: 'i.js' }).scaling.maxInstances, 4);
});

test("ShortedFaaS's mode names: hot keeps one started, scalable keeps its min (1 unless set), warm and cold as before", () => {
  const node = { runtime: 'node', handler: 'i.js' } as const;
  const hot = of({ ...node, scaling: { mode: 'hot' } });
  assert.equal(hot.scaling.minInstances, 1);
  assert.equal(of({ ...node, scaling: { mode: 'hot', minInstances: 3 } }).scaling.minInstances, 3);
  assert.equal(of({ ...node, scaling: { mode: 'hot', maxInstances: 1 } }).scaling.maxInstances, 1);
  const scalable = of({ ...node, scaling: { mode: 'scalable', maxInstances: 6 } });
  assert.deepEqual([scalable.scaling.minInstances, scalable.scaling.maxInstances], [1, 6]);
  assert.equal(of({ ...node, scaling: { mode: 'scalable', minInstances: 0 } }).scaling.minInstances, 0);
  assert.equal(of({ ...node, scaling: { mode: 'scalable' } }, { scaling: { minInstances: 2 } }).scaling.minInstances, 2);
  const warm = of({ ...node, scaling: { mode: 'warm', idleTimeoutMs: 60_000 } });
  assert.deepEqual([warm.scaling.minInstances, warm.scaling.idleTimeoutMs, warm.scaling.concurrency], [0, 60_000, 100]);
  // hot with a PATCH to minInstances 0 still keeps one: the mode says what the function is.
  assert.equal(of({ ...node, scaling: { mode: 'hot' } }, { scaling: { minInstances: 0 } }).scaling.minInstances, 1);
  const cold = of({ ...node, scaling: { mode: 'cold', minInstances: 2 } });
  assert.deepEqual([cold.scaling.minInstances, cold.scaling.concurrency], [0, 1]);
});

test('the schema takes the four mode names and nothing else', async () => {
  const { validateManifest } = await import('./validate.js');
  for (const mode of ['cold', 'warm', 'hot', 'scalable']) await validateManifest({ runtime: 'node', handler: 'i.js', scaling: { mode } });
  await assert.rejects(validateManifest({ runtime: 'node', handler: 'i.js', scaling: { mode: 'lukewarm' } }), /mode/);
});
