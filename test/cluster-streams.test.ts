/**
 * What a gateway does for calls it sends to workers, on one gateway and two sandboxed workers
 * (bwrap, each with its own pre-booted pool) on a real nats-server: each worker fills its own
 * pool, an idle instance goes away on its worker and the next call starts one from the pool;
 * server-sent events reach the client one by one while the function runs; a WebSocket echoes
 * both ways and closes with the codes each side sends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import type { Ferry } from './support/ferry.js';
import { listInstances } from './support/fn.js';
import { nodeFn } from './support/helpers.js';
import { quickBeats } from './support/cluster.js';
import { clusterPerFile, nodeIdOf } from './support/cluster-nodes.js';
import { eventReader, sseStepFiles, wsEchoFiles } from './support/stream-fns.js';
import { waitFor, within } from './support/wait.js';

// The default driver (bwrap) and a pool of one sandbox per runtime on each worker.
let gateway: Ferry;
let workers: Ferry[];
clusterPerFile(() => ({ prefix: 'streams', workers: 2, base: quickBeats, args: ['--pool-size', '1'] }), { started: (c) => ({ gateway, workers } = c) });

interface PoolView {
  enabled: boolean;
  size: number;
  runtimes: Array<{ runtime: string; active: boolean; ready: number }>;
}

async function poolOf(node: Ferry): Promise<PoolView> {
  const res = await node.api('GET', '/v1/pool');
  assert.equal(res.status, 200);
  return (await res.json()) as PoolView;
}

/**
 * Waits until the worker's own pool has a sandbox waiting for every runtime in use (one with a
 * function deployed; booting them takes a while on a busy machine).
 */
const poolFull = (w: Ferry): Promise<PoolView> => waitFor('a worker\'s pool to be full', async () => {
  const p = await poolOf(w);
  return p.enabled && p.size === 1 && p.runtimes.some((r) => r.active) && p.runtimes.every((r) => !r.active || r.ready >= 1) ? p : undefined;
}, { timeoutMs: 120_000 });

/** The worker whose node id is `id`. */
async function workerOf(id: string | undefined): Promise<Ferry> {
  const ids = await Promise.all(workers.map(nodeIdOf));
  const w = workers[ids.indexOf(id ?? '')];
  assert.ok(w, `the instance's node ${id} is one of the workers (${ids.join(', ')})`);
  return w;
}

test('each worker fills its own pool; an idle instance goes away on its worker and the next call is served from the pool', { timeout: 240_000 }, async () => {
  // A node function deployed through the gateway reaches every worker's catalog: each fills its
  // node pool, and no python sandbox waits anywhere.
  await gateway.deploy('napper', nodeFn("export default () => 'awake';\n", { scaling: { idleTimeoutMs: 500 } }));
  for (const w of workers) {
    const p = await poolFull(w);
    assert.deepEqual(p.runtimes.map((r) => [r.runtime, r.active]).sort(), [['node', true], ['python', false]]);
  }
  // The gateway runs nothing itself: its view is the workers' pools added up.
  await waitFor('the gateway to sum both pools', async () => {
    const p = await poolOf(gateway);
    const node = p.runtimes.find((r) => r.runtime === 'node');
    return p.size === 2 && node?.active && node.ready === 2 ? p : undefined;
  }, { timeoutMs: 30_000 });

  const call = async (): Promise<void> => {
    const res = await fetch(`${gateway.url}/fn/napper`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'awake');
  };
  await call();
  const reported = async (): Promise<Awaited<ReturnType<typeof listInstances>>> => waitFor('the instance to be reported by its worker', async () => {
    const l = await listInstances(gateway, 'napper');
    return l.length > 0 ? l : undefined;
  }, { timeoutMs: 30_000 });
  await reported();
  // Idle past its idleTimeoutMs, every instance on every worker goes: the gateway lists none.
  await waitFor('the instances to idle out on the workers', async () => ((await listInstances(gateway, 'napper')).length === 0 ? true : undefined), { timeoutMs: 30_000 });
  for (const w of workers) {
    const own = await listInstances(w, 'napper');
    assert.equal(own.length, 0, `the worker itself runs none: ${JSON.stringify(own)}`);
    await poolFull(w);
  }
  await call();
  const [inst] = await reported();
  assert.equal(inst!.origin, 'pool', 'the instance started again took a pre-booted sandbox');
  const logs = await (await gateway.api('GET', '/v1/functions/napper/logs')).text();
  assert.match(logs, /instance ready in [\d.]+ ms \(from the pre-booted pool\)/);
  // The worker that took it refills its own pool.
  await poolFull(await workerOf(inst!.node));
});

test('server-sent events through the gateway reach the client one by one, each before the function sends the next', { timeout: 120_000 }, async () => {
  // The stream goes on only when the client, having read an event, calls /next on the instance:
  // a gateway or worker that buffered the stream would deadlock here, with no timing asserted.
  await gateway.deploy('sse-step', sseStepFiles);
  const res = await fetch(`${gateway.url}/fn/sse-step`, { signal: AbortSignal.timeout(90_000) });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  const nextEvent = eventReader(res);
  // The gate goes to the worker streaming the events (the one whose instance has the call in flight).
  const [streaming] = await waitFor('the streaming instance to be reported', async () => {
    const l = (await listInstances(gateway, 'sse-step')).filter((i) => i.inFlight > 0);
    return l.length > 0 ? l : undefined;
  }, { timeoutMs: 30_000 });
  const worker = await workerOf(streaming!.node);
  const seen: string[] = [];
  for (let i = 1; i <= 3; i++) {
    seen.push((await within(`event ${i} while the function waits for the client`, 20_000, nextEvent()))!);
    const next = await fetch(`${worker.url}/fn/sse-step/next`);
    assert.equal(await next.text(), 'ok');
  }
  assert.equal(await within('the end of the stream', 20_000, nextEvent()), undefined);
  assert.deepEqual(seen, ['1', '2', '3']);
});

test('a WebSocket through the gateway echoes text and binary both ways, and each side\'s close code reaches the other', { timeout: 120_000 }, async () => {
  await gateway.deploy('ws-echo', await wsEchoFiles());
  const open = async (path: string): Promise<{ ws: WebSocket; next: (n: number) => Promise<Array<{ data: string; binary: boolean }>>; closed: Promise<{ code: number; reason: string }> }> => {
    const ws = new WebSocket(`${gateway.url.replace(/^http/, 'ws')}${path}`);
    const got: Array<{ data: string; binary: boolean }> = [];
    let wake = (): void => {};
    ws.on('message', (data: Buffer, binary: boolean) => {
      got.push({ data: binary ? data.toString('hex') : data.toString(), binary });
      wake();
    });
    const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    await within('the WebSocket to open', 60_000, new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, r) => reject(new Error(`upgrade answered ${r.statusCode}`)));
    }));
    const next = (n: number): Promise<Array<{ data: string; binary: boolean }>> =>
      within(`${n} WebSocket message(s)`, 20_000, new Promise((resolve) => {
        const check = (): void => {
          if (got.length >= n) resolve(got.slice(0, n));
        };
        wake = check;
        check();
      }));
    return { ws, next, closed };
  };

  const a = await open('/fn/ws-echo/room?x=1');
  assert.deepEqual(await a.next(1), [{ data: 'hello /room?x=1', binary: false }], 'the function sees the path after /fn/{name}');
  a.ws.send('one');
  a.ws.send(Buffer.from([0, 1, 2, 255]));
  a.ws.send('three');
  assert.deepEqual((await a.next(4)).slice(1), [{ data: 'one', binary: false }, { data: '000102ff', binary: true }, { data: 'three', binary: false }]);
  a.ws.close(1000, 'bye');
  assert.deepEqual(await within('the close handshake', 20_000, a.closed), { code: 1000, reason: 'bye' });

  // The function closes this one, with a code of its own.
  const b = await open('/fn/ws-echo/other');
  await b.next(1);
  b.ws.send('leave');
  assert.deepEqual(await within('the function\'s close', 20_000, b.closed), { code: 4001, reason: 'asked to leave' });
});
