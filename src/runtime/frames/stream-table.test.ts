import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamTable } from './stream-table.js';

test('new ids only grow, skip slots still open, and every open call is found by its id', () => {
  const t = new StreamTable<string>(4);
  const a = t.newId();
  t.set(a, 'a');
  const b = t.newId();
  t.set(b, 'b');
  assert.ok(b > a);
  assert.equal(t.get(a), 'a');
  assert.equal(t.get(b), 'b');
  // An id sharing a slot with an open call is never handed out while that call is open.
  const seen = new Set([a, b]);
  for (let i = 0; i < 100; i++) {
    const id = t.newId();
    assert.ok(!seen.has(id));
    seen.add(id);
    t.set(id, `v${id}`);
    assert.equal(t.get(id), `v${id}`);
    assert.equal(t.get(a), 'a', 'an old open call stays reachable');
    assert.ok(t.delete(id));
  }
  assert.equal(t.size, 2);
});

test('an ended call is gone: a late frame for its id finds nothing, even once its slot is reused', () => {
  const t = new StreamTable<string>(4);
  const ids: number[] = [];
  for (let i = 0; i < 3; i++) {
    const id = t.newId();
    ids.push(id);
    t.set(id, String(i));
  }
  assert.ok(t.delete(ids[0]!));
  assert.equal(t.delete(ids[0]!), false);
  assert.equal(t.get(ids[0]!), undefined);
  for (let i = 0; i < 20; i++) {
    const id = t.newId();
    t.set(id, 'new');
    assert.equal(t.get(ids[0]!), undefined, `id ${ids[0]} after ${id}`);
    t.delete(id);
  }
});

test('grows past its first size and keeps every open call', () => {
  const t = new StreamTable<number>(2);
  const open = new Map<number, number>();
  for (let i = 0; i < 1000; i++) {
    const id = t.newId();
    t.set(id, i);
    open.set(id, i);
  }
  assert.equal(t.size, 1000);
  for (const [id, v] of open) assert.equal(t.get(id), v);
  assert.deepEqual(new Map(t.entries()), open);
});

test('ids the peer chose: colliding ones still land, replace and delete', () => {
  // The instance's side: stream ids are the gateway's, whatever slot they map to.
  const t = new StreamTable<string>(8);
  t.set(1, 'one');
  t.set(9, 'nine'); // the same slot as 1
  t.set(17, 'seventeen');
  assert.equal(t.get(1), 'one');
  assert.equal(t.get(9), 'nine');
  assert.equal(t.get(17), 'seventeen');
  t.set(9, 'nine again');
  assert.equal(t.get(9), 'nine again');
  assert.equal(t.size, 3);
  assert.ok(t.delete(1));
  assert.equal(t.get(1), undefined);
  assert.equal(t.get(9), 'nine again');
  assert.deepEqual(t.entries().map(([id]) => id).sort((x, y) => x - y), [9, 17]);
  assert.ok(t.delete(9) && t.delete(17));
  assert.equal(t.size, 0);
});

test('ids wrap before 2^31 and start again at 1', () => {
  const t = new StreamTable<string>(4);
  (t as unknown as { next: number }).next = 0x7fffffff;
  assert.equal(t.newId(), 0x7fffffff);
  assert.equal(t.newId(), 1);
});
