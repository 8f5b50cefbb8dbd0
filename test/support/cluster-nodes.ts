/**
 * Ferry processes as nodes of one cluster on a real nats-server (`--store nats://...`): a gateway
 * and workers sharing one data dir (each its own server slot: the admin token the first one made
 * serves them all), and what a test asks of a node (its id, its metrics).
 */
import { after, before } from 'node:test';
import type { Ferry } from './ferry.js';
import { startNatsServer, type NatsServer } from './nats-server.js';
import { clusterArgs, testCluster } from './cluster.js';
import { waitFor } from './wait.js';

/** What every node of a test cluster runs with (cluster.ts): no sandbox, no pool, quick heartbeats. */
export const clusterNodeArgs = clusterArgs;

export interface ClusterNodes {
  gateway: Ferry;
  workers: Ferry[];
  /** Starts one more node of the same cluster (e.g. a second gateway) on the same data dir. */
  add(role: 'gateway' | 'worker' | 'all', args?: string[]): Promise<Ferry>;
  /** Stops every node it started, the gateway last (it owns the data dir). */
  stop(): Promise<void>;
}

export interface ClusterNodesOptions {
  nats: NatsServer;
  prefix: string;
  workers: number;
  args?: string[];
  base?: string[];
  gatewayArgs?: string[];
  gatewayReady?: (gateway: Ferry) => Promise<void>;
}

/** A gateway (with `gatewayArgs` too; `base` as in `testCluster`), then `workers` workers at once, on `nats` under `prefix`; `gatewayReady` runs in between. */
export async function startClusterNodes(o: ClusterNodesOptions): Promise<ClusterNodes> {
  const cluster = testCluster(o.nats, o.prefix, o.args, o.base);
  try {
    const gateway = await cluster.start('gateway', o.gatewayArgs);
    await o.gatewayReady?.(gateway);
    const workers = await Promise.all(Array.from({ length: o.workers }, () => cluster.start('worker')));
    return { gateway, workers, add: (role, args) => cluster.start(role, args), stop: () => cluster.dispose() };
  } catch (err) {
    await cluster.dispose().catch(() => {});
    throw err;
  }
}

/** The node's Prometheus text (`/metrics`: with the admin token, or none for `--metrics-public`). */
export async function metricsOf(f: Ferry, opts: { anonymous?: boolean } = {}): Promise<string> {
  const res = await fetch(`${f.url}/metrics`, opts.anonymous ? {} : { headers: { authorization: `Bearer ${f.token}` } });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.text();
}

/** The node id a node's metrics carry (`node="..."` on its series); throws when there is none. */
export async function nodeIdOf(f: Ferry): Promise<string> {
  const m = /^ferry_rate_limit_share\{[^}]*node="([0-9a-f]+)"/m.exec(await metricsOf(f));
  if (!m) throw new Error('the node has no node label on its metrics');
  return m[1]!;
}

/** Waits until the gateway's directory lists `count` live nodes. */
export async function waitForNodes(gateway: Ferry, count: number): Promise<void> {
  await waitFor(`${count} nodes in the directory`, async () => {
    const r = (await (await gateway.api('GET', '/v1/cluster')).json()) as { nodes: unknown[] };
    return r.nodes.length === count ? true : undefined;
  }, { timeoutMs: 30_000 });
}

/** A test file's cluster: its nats-server and its nodes. */
export interface FileCluster {
  readonly nats: NatsServer;
  readonly gateway: Ferry;
  readonly workers: Ferry[];
  add(role: 'gateway' | 'worker' | 'all', args?: string[]): Promise<Ferry>;
}

/** What a test file does around its cluster, in the cluster's own hooks (the file's other hooks may run in any order with them). */
export interface FileClusterHooks {
  /** Before anything starts (e.g. a folder `options` names). */
  setup?(): Promise<void>;
  /** Once every node is in the directory. */
  started?(c: ClusterNodes): void;
  /** After every node and the nats-server stopped. */
  teardown?(): Promise<void>;
}

/**
 * A nats-server and a gateway with its workers for a whole test file: started in `before` (every
 * node in the gateway's directory before the first test), stopped in `after`. `options` is read
 * once `hooks.setup` is done.
 */
export function clusterPerFile(options: () => Omit<ClusterNodesOptions, 'nats'>, hooks: FileClusterHooks = {}): FileCluster {
  let nats: NatsServer | undefined;
  let nodes: ClusterNodes | undefined;
  before(async () => {
    await hooks.setup?.();
    nats = await startNatsServer();
    nodes = await startClusterNodes({ nats, ...options() });
    await waitForNodes(nodes.gateway, 1 + nodes.workers.length);
    hooks.started?.(nodes);
  });
  after(async () => {
    await nodes?.stop();
    await nats?.stop();
    await hooks.teardown?.();
  });
  const started = (): ClusterNodes => nodes ?? notStarted();
  return {
    get nats() {
      return nats ?? notStarted();
    },
    get gateway() {
      return started().gateway;
    },
    get workers() {
      return started().workers;
    },
    add: (role, args) => started().add(role, args),
  };
}

function notStarted(): never {
  throw new Error('the cluster of this file is not started yet (use it inside a test)');
}
