/**
 * `ferry autoscaler` on a real nats-server with one gateway: under a backlog of asynchronous
 * executions it starts local workers (seen in `GET /v1/cluster` and among its own processes),
 * every execution ends succeeded with one record, and once the queue is empty it stops them again
 * down to the minimum. A second autoscaler stands by while the first holds the lease, and takes
 * over (and acts) once the first stops and drains its workers.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFerry, disposeFerry, type Ferry } from './support/ferry.js';
import { nodeFn } from './support/helpers.js';
import { startNatsServer, type NatsServer } from './support/nats-server.js';
import { startAutoscaler, type AutoscalerRun } from './support/autoscaler.js';
import { submitMany } from './support/async-load.js';
import { alive, childPids } from './support/procs.js';
import { waitFor } from './support/wait.js';

const prefix = 'scale';
const node = ['--heartbeat-interval', '200ms', '--node-ttl', '1500ms'];
let nats: NatsServer;
let gateway: Ferry;
let first: AutoscalerRun;
let dir: string;

/** Flags both autoscalers share: this cluster, checks four times a second, a short lease. */
const scalerFlags = (): string[] => ['--store', nats.url, '--nats-prefix', prefix, '--node-ttl', '1500ms', '--check-interval', '250ms', '--lease-ttl', '3s', '--metrics-listen', '127.0.0.1:0'];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-autoscale-'));
  nats = await startNatsServer();
  gateway = await startFerry({ args: ['--driver', 'process', '--unsandboxed', '--pool-size', '0', ...node, '--store', nats.url, '--nats-prefix', prefix, '--role', 'gateway'] });
  // Workers run two executions at once each, so a backlog needs more of them to drain quickly.
  const workerArgs = ['--driver', 'process', '--unsandboxed', '--pool-size', '0', '--host', '127.0.0.1', ...node, '--async-workers', '2'];
  first = await startAutoscaler([...scalerFlags(), '--min-workers', '1', '--max-workers', '3', '--scale-up-threshold', '2', '--scale-down-threshold', '1', '--scale-up-lag', '0', '--cooldown', '1s', '--worker-data-root', join(dir, 'workers'), `--worker-args=${workerArgs.join(' ')}`, '--worker-stop-timeout', '30s']);
});
after(async () => {
  await first?.stop().catch(() => {});
  await disposeFerry(gateway).catch(() => {});
  await nats.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function clusterWorkers(): Promise<number> {
  const r = (await (await gateway.api('GET', '/v1/cluster')).json()) as { nodes: Array<{ roles: string[] }> };
  return r.nodes.filter((n) => n.roles.includes('worker')).length;
}

test('a backlog grows the workers, every execution ends succeeded once, and an idle queue shrinks them to the minimum', async () => {
  // The minimum is restored at once: one worker, started by the autoscaler.
  await waitFor('the first worker to be alive', async () => (await clusterWorkers()) === 1, { timeoutMs: 30_000 });
  assert.equal(childPids(first.proc.pid!).length, 1);

  // Each execution waits for a gate the test opens once a second worker has announced itself:
  // the backlog lasts until the autoscaler has grown the workers, however slowly a loaded host
  // starts them (a fixed run time let one worker drain it first).
  const gate = join(dir, 'gate');
  await gateway.deploy('sleepy', nodeFn(`import { existsSync } from 'node:fs';\nexport default async (req) => { for (let i = 0; i < 1200 && !existsSync(${JSON.stringify(gate)}); i++) await new Promise((r) => setTimeout(r, 50)); await new Promise((r) => setTimeout(r, 100)); return "done " + (await req.text()); };\n`));
  // Watch the worker count from both sides until the end of the backlog.
  let most = { cluster: 0, processes: 0 };
  let watching = true;
  const watch = (async () => {
    while (watching) {
      most = { cluster: Math.max(most.cluster, await clusterWorkers().catch(() => 0)), processes: Math.max(most.processes, childPids(first.proc.pid!).length) };
      if (most.cluster > 1 && !existsSync(gate)) writeFileSync(gate, 'open');
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const n = 30;
  const submitted = await submitMany(gateway.url, '/fn/sleepy', [...Array(n).keys()], { concurrency: 8, body: (i) => `#${i}` });
  assert.deepEqual(submitted.filter((s) => s.status !== 202), [], 'every execution accepted');
  const ids = new Set(submitted.map((s) => s.id!));

  const ended = await waitFor('every execution to end', async () => {
    const { executions } = (await (await gateway.api('GET', '/v1/executions?function=sleepy&limit=1000')).json()) as { executions: Array<{ id: string; status: string; attempts: number }> };
    return executions.length === n && executions.every((e) => !['queued', 'running'].includes(e.status)) ? executions : undefined;
  }, { timeoutMs: 120_000, intervalMs: 250 });
  watching = false;
  await watch;
  assert.ok(most.cluster > 1, `the workers grew above one in GET /v1/cluster (most seen: ${most.cluster})`);
  assert.ok(most.processes > 1, `the autoscaler ran more than one worker process (most seen: ${most.processes})`);
  assert.ok(most.cluster <= 3 && most.processes <= 3, `never above --max-workers (${JSON.stringify(most)})`);
  // One record per accepted execution, each final and succeeded.
  assert.deepEqual(new Set(ended.map((e) => e.id)), ids);
  assert.deepEqual(ended.filter((e) => e.status !== 'succeeded' || e.attempts !== 1), [], 'each succeeded at its first run');
  const seventh = submitted.find((s) => s.i === 7)!;
  const one = (await (await gateway.api('GET', `/v1/executions/${seventh.id}`)).json()) as { result?: { body: string } };
  assert.equal(one.result?.body, 'done #7');

  // The queue is empty: one worker at a time back to the minimum.
  await waitFor('the workers to shrink back to one', async () => (await clusterWorkers()) === 1 && childPids(first.proc.pid!).length === 1, { timeoutMs: 60_000, intervalMs: 200 });
  const decisions = first.lines.filter((l) => typeof l.reason === 'string');
  assert.ok(decisions.some((l) => l.reason === 'backlog' && (l.to as number) > (l.from as number)), 'a logged decision to grow for the backlog');
  assert.ok(decisions.some((l) => l.reason === 'idle' && l.to === 1), 'a logged decision to shrink to the minimum when idle');
  const metrics = await first.metrics();
  assert.match(metrics, /ferry_autoscaler_decisions_total\{reason="backlog",outcome="done"\} [1-9]/);
  assert.match(metrics, /ferry_autoscaler_decisions_total\{reason="idle",outcome="done"\} [1-9]/);
  assert.match(metrics, /ferry_autoscaler_lease_held 1/);
});

test('a second autoscaler does not act while the first holds the lease, and takes over when it stops', async () => {
  // The second one's provider is a command hook that only records its calls; its minimum (2) is
  // above the live workers, so it would act at its first check if it held the lease.
  const hook = join(dir, 'hook.sh');
  const calls = join(dir, 'calls');
  writeFileSync(hook, `#!/bin/sh\necho "$FERRY_WORKERS_CURRENT -> $FERRY_WORKERS_TARGET" >> "${calls}"\n`);
  chmodSync(hook, 0o755);
  const second = await startAutoscaler([...scalerFlags(), '--min-workers', '2', '--max-workers', '3', '--cooldown', '1s', '--provider', 'command', '--provider-command', hook]);
  try {
    await waitFor('the second autoscaler to stand by', () => second.lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('standing by: the autoscaler')));
    // It checks (it reads the cluster: one live worker) a few times, without acting.
    const metrics = await waitFor('three checks of the second autoscaler', async () => {
      const text = await second.metrics();
      return Number(/^ferry_autoscaler_checks_total (\d+)/m.exec(text)?.[1] ?? 0) >= 3 ? text : undefined;
    });
    assert.equal(existsSync(calls), false, 'the standby never ran its provider');
    assert.equal(second.lines.filter((l) => typeof l.reason === 'string').length, 0, 'the standby logged no decision');
    assert.match(metrics, /^ferry_autoscaler_live_workers 1$/m);
    assert.match(metrics, /^ferry_autoscaler_lease_held 0$/m);

    // The first stops (SIGTERM): it gives the lease up and drains its worker.
    const workers = childPids(first.proc.pid!);
    assert.equal(workers.length, 1);
    assert.equal(await first.stop(), 0);
    assert.ok(!alive(workers[0]!), 'the stopped autoscaler stopped its worker');
    assert.ok(first.lines.some((l) => l.msg === 'stopping the local workers: each finishes its executions first'));
    // The second takes the lease and acts: the minimum, through its hook.
    await waitFor('the second autoscaler to take the lease', () => second.lines.some((l) => l.msg === 'holding the autoscaler lease: this autoscaler acts'), { timeoutMs: 30_000 });
    await waitFor('its hook to be asked for two workers', () => existsSync(calls) && / -> 2\n/.test(readFileSync(calls, 'utf8')), { timeoutMs: 30_000 });
    assert.ok(second.lines.some((l) => l.reason === 'below-min' && l.to === 2));
  } finally {
    assert.equal(await second.stop(), 0);
  }
});
