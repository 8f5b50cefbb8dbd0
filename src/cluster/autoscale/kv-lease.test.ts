/** KvLease against a real nats-server: one holder at a time, and never two that both think they hold it. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startNatsServer, type NatsServer } from '../../../test/support/nats-server.js';
import { waitFor } from '../../../test/support/wait.js';
import { KvLease } from './kv-lease.js';

let server: NatsServer;
before(async () => {
  server = await startNatsServer();
});
after(() => server.stop());

const open = (prefix: string, holder: string): Promise<KvLease> => KvLease.open({ nats: { servers: [server.url] }, prefix, ttlMs: 1000, holder });

test('one holds it; a renewal keeps it; a clean stop hands it on at once', async (t) => {
  const a = await open('lease1', 'a');
  const b = await open('lease1', 'b');
  t.after(async () => {
    await a.stop();
    await b.stop();
  });
  assert.equal(await a.tryHold(), true);
  assert.equal(await b.tryHold(), false);
  assert.deepEqual((await b.holder())?.id, 'a');
  assert.equal(await a.tryHold(), true, 'renewed');
  assert.equal(b.held(), false);
  await a.stop();
  assert.equal(await b.tryHold(), true, 'taken at once after the holder gave it up');
  assert.equal((await b.holder())?.id, 'b');
});

test('a holder that stops renewing loses it before another can take it, and cannot renew it after', async (t) => {
  const a = await open('lease2', 'a');
  const b = await open('lease2', 'b');
  t.after(async () => {
    await a.stop();
    await b.stop();
  });
  assert.equal(await a.tryHold(), true);
  // `a` stops renewing (as if hung or cut off); `b` keeps trying.
  const aHeldWhenBTook = await waitFor('b to take the expired lease', async () => ((await b.tryHold()) ? { aHeld: a.held() } : undefined), { timeoutMs: 15_000, intervalMs: 100 });
  // When b took it, a no longer counted it as its own: never two holders at once.
  assert.deepEqual(aHeldWhenBTook, { aHeld: false });
  assert.equal(await a.tryHold(), false, "a's renewal on its old revision fails");
  assert.equal(b.held(), true);
});
