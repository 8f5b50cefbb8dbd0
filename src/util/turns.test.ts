import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Turns } from './turns.js';

test('at most size run at once, the rest in order; a failure frees its turn', async () => {
  const turns = new Turns(2);
  const started: string[] = [];
  const gates = new Map<string, () => void>();
  const job = (name: string, fail = false) =>
    turns.run(async () => {
      started.push(name);
      await new Promise<void>((resolve) => gates.set(name, resolve));
      if (fail) throw new Error(`${name} failed`);
      return name;
    });
  const a = job('a', true);
  const b = job('b');
  const c = job('c');
  const d = job('d');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, ['a', 'b']);
  gates.get('a')!();
  await assert.rejects(a, /a failed/);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, ['a', 'b', 'c']);
  gates.get('b')!();
  assert.equal(await b, 'b');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, ['a', 'b', 'c', 'd']);
  gates.get('c')!();
  gates.get('d')!();
  assert.deepEqual(await Promise.all([c, d]), ['c', 'd']);
});
