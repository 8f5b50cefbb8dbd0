import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CallSignal } from '../core/index.js';
import { FerryError } from '../errors/index.js';
import { WaitQueue } from './wait-queue.js';

test('synchronous waiters are served before background ones, each in arrival order', async () => {
  const q = new WaitQueue<string>();
  const order: string[] = [];
  const wait = (name: string, background: boolean): Promise<void> => q.enqueue(new CallSignal(), background).then((v) => void order.push(`${name}:${v}`));
  const all = [wait('b1', true), wait('s1', false), wait('b2', true), wait('s2', false)];
  assert.deepEqual([q.length, q.foreground], [4, 2]);
  for (const v of ['x', 'y', 'z', 'w']) q.shift()!.resolve(v);
  await Promise.all(all);
  assert.deepEqual(order, ['s1:x', 's2:y', 'b1:z', 'b2:w']);
  assert.equal(q.shift(), undefined);
});

test('an aborted waiter leaves its own line; rejectAll empties both', async () => {
  const q = new WaitQueue<string>();
  const gone = new CallSignal();
  const leaving = q.enqueue(gone, true);
  const staying = q.enqueue(new CallSignal(), true);
  const sync = q.enqueue(new CallSignal());
  gone.abort(new FerryError('invoke-timeout', 'client left'));
  await assert.rejects(leaving, (e: unknown) => e instanceof FerryError && e.code === 'invoke-timeout');
  assert.deepEqual([q.length, q.foreground], [2, 1]);
  q.rejectAll(new FerryError('shutting-down'));
  await assert.rejects(sync, (e: unknown) => e instanceof FerryError && e.code === 'shutting-down');
  await assert.rejects(staying, (e: unknown) => e instanceof FerryError && e.code === 'shutting-down');
  assert.equal(q.length, 0);
});
