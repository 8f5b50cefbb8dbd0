import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Autoscaler } from './autoscaler.js';
import { defaultScaleSettings, type ScaleMetrics } from './decision.js';
import type { WorkerProvider } from './providers/provider.js';

/** A provider that counts what it was asked, as a command hook's count would. */
class CountingProvider implements WorkerProvider {
  readonly kind = 'counting';
  count = 0;
  asked: number[] = [];
  adopted: number[] = [];
  async current(): Promise<number> {
    return this.count;
  }
  async adopt(live: number): Promise<void> {
    this.adopted.push(live);
    this.count = live;
  }
  async scaleTo(target: number): Promise<void> {
    this.asked.push(target);
    this.count = target;
  }
  async close(): Promise<void> {}
}

const settings = { ...defaultScaleSettings, minWorkers: 2, maxWorkers: 5, cooldownMs: 0 };
const metrics = async (): Promise<ScaleMetrics> => ({ pending: 0, ackPending: 0, lagMs: 0, workers: 1 });

test('without the lease nothing changes; on taking it the provider starts from the live workers, then acts', async () => {
  let held = false;
  const provider = new CountingProvider();
  const a = new Autoscaler({ settings, metrics, provider, logger: pino({ level: 'silent' }), lease: { held: () => held } });
  assert.equal(await a.check(), undefined);
  assert.equal(await a.check(), undefined);
  assert.deepEqual([provider.asked, provider.adopted], [[], []]);
  held = true;
  assert.deepEqual(await a.check(), { target: 2, reason: 'below-min' });
  assert.deepEqual([provider.asked, provider.adopted], [[2], [1]]);
  // Lost and taken again: adopted again, from what is alive then.
  held = false;
  assert.equal(await a.check(), undefined);
  held = true;
  await a.check();
  assert.deepEqual(provider.adopted, [1, 1]);
});
