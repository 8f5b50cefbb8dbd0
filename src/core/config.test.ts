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
