import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { autoscalerSettings, loadAutoscalerOptions, workerEnvironment } from './autoscaler-options.js';

const nats = { FERRY_STORE: 'nats://10.0.0.1:4222' };

test('defaults, and seed 003 variables read with their meanings', () => {
  const d = loadAutoscalerOptions({}, nats);
  assert.deepEqual([d.minWorkers, d.maxWorkers, d.scaleUpThreshold, d.scaleDownThreshold, d.checkIntervalMs, d.cooldownMs, d.provider, d.leaseTtlMs, d.natsPrefix], [1, 10, 3, 2, 30_000, 30_000, 'local', 15_000, 'ferry']);
  // Seed 003's compose file, as it is.
  const seed = loadAutoscalerOptions({}, { NATS_URL: 'nats://nats:4222', MIN_WORKERS: '2', MAX_WORKERS: '10', SCALE_UP_THRESHOLD: '3', SCALE_DOWN_THRESHOLD: '2', CHECK_INTERVAL: '30s', COOLDOWN_PERIOD: '45s' });
  assert.deepEqual([seed.store, seed.minWorkers, seed.maxWorkers, seed.checkIntervalMs, seed.cooldownMs], ['nats://nats:4222', 2, 10, 30_000, 45_000]);
});

test('a flag wins over the Ferry variable, which wins over the seed variable; a bad value names its source', () => {
  const env = { ...nats, MIN_WORKERS: '2', FERRY_AUTOSCALER_MIN_WORKERS: '3', MAX_WORKERS: '5' };
  assert.equal(loadAutoscalerOptions({}, env).minWorkers, 3);
  assert.equal(loadAutoscalerOptions({ minWorkers: '4' }, env).minWorkers, 4);
  assert.throws(() => loadAutoscalerOptions({}, { ...nats, COOLDOWN_PERIOD: '1m30s' }), /^Error: COOLDOWN_PERIOD: '1m30s' is not a duration/);
  assert.throws(() => loadAutoscalerOptions({}, { ...nats, FERRY_AUTOSCALER_MAX_WORKERS: 'many' }), /^Error: FERRY_AUTOSCALER_MAX_WORKERS:/);
});

test('settings that cannot work stop the start with the setting named', () => {
  assert.throws(() => loadAutoscalerOptions({}, {}), /--store: .*nats:\/\//);
  assert.throws(() => loadAutoscalerOptions({ store: 'sqlite' }, {}), /--store/);
  assert.throws(() => loadAutoscalerOptions({ minWorkers: '4', maxWorkers: '3' }, nats), /--min-workers: 4 is more than --max-workers 3/);
  assert.throws(() => loadAutoscalerOptions({ scaleDownThreshold: '5' }, nats), /--scale-down-threshold/);
  assert.throws(() => loadAutoscalerOptions({ provider: 'command' }, nats), /--provider-command/);
  assert.throws(() => loadAutoscalerOptions({ provider: 'command', providerCommand: 'hook.sh' }, nats), /not an absolute path/);
  assert.throws(() => loadAutoscalerOptions({ provider: 'docker' }, nats), /--provider: must be/);
  assert.throws(() => loadAutoscalerOptions({ metricsListen: 'nowhere' }, nats), /--metrics-listen/);
  assert.throws(() => loadAutoscalerOptions({ leaseTtlMs: '200ms' }, nats), /--lease-ttl/);
});

test('local workers get the NATS settings through their environment, and the worker arguments split at spaces', () => {
  const o = loadAutoscalerOptions({ natsPrefix: 'prod', natsUser: 'ferry', natsPasswordFile: '/etc/ferry/pw', workerArgs: ' --driver bwrap   --async-workers 8 ' }, { ...nats, FERRY_NATS_PASSWORD_FILE: '/ignored' });
  assert.deepEqual(o.workerArgs, ['--driver', 'bwrap', '--async-workers', '8']);
  assert.deepEqual(workerEnvironment(o), { FERRY_STORE: 'nats://10.0.0.1:4222', FERRY_NATS_USER: 'ferry', FERRY_NATS_PASSWORD_FILE: '/etc/ferry/pw', FERRY_NATS_PREFIX: 'prod', FERRY_NODE_TTL: '10000' });
});

test("docs/cluster.md's autoscaler table lists every setting, its variables and no other", () => {
  const doc = readFileSync(new URL('../../../../docs/cluster.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## Autoscaling workers'));
  const rows = new Map<string, string>();
  for (const m of section.matchAll(/^\| `(--[a-z-]+)` \| `([A-Z_]+)` \| ?(?:`([A-Z_]+)`)? ?\|/gm)) rows.set(m[1]!, `${m[2]} ${m[3] ?? ''}`);
  for (const s of autoscalerSettings) assert.equal(rows.get(s.flag), `${s.env} ${s.seedEnv ?? ''}`, `${s.flag} should be documented with ${s.env} ${s.seedEnv ?? ''}`);
  assert.deepEqual([...rows.keys()].sort(), autoscalerSettings.map((s) => s.flag).sort());
});
