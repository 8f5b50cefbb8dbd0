/**
 * This process as a node of a cluster (`--role`, a NATS store): its heartbeat in the node
 * directory; on a gateway, the remote pool that sends calls to workers; on a worker, the cluster
 * listener that serves them. On one node with the embedded store none of it runs.
 */
import { createServer, type Server } from 'node:http';
import { totalmem } from 'node:os';
import { resolve } from 'node:path';
import type { ServerOptions } from '../config/index.js';
import { parseListenAddress } from '../config/cluster-options.js';
import type { DeployTarget, InstancePool, KeyStore, NodeDirectory, NodeRole } from '../core/index.js';
import type { Logger } from '../observe/index.js';
import type { NatsConnectOptions } from '../nats/index.js';
import { openNodeDirectory } from '../nodes/index.js';
import { ClusterAuth } from '../cluster/dispatch/cluster-auth.js';
import { RemoteInstancePool } from '../cluster/dispatch/remote-pool.js';
import { WorkerChoice } from '../cluster/dispatch/worker-choice.js';
import { WorkerEndpoint } from '../cluster/dispatch/worker-endpoint.js';
import { NodeAnnouncer } from '../cluster/node-announcer.js';

export interface ClusterNodeOptions {
  opts: ServerOptions;
  /** The store kind the node directory goes with (`sqlite`, `nats`). */
  kind: string;
  nats?: NatsConnectOptions;
  prefix?: string;
  keys: KeyStore;
  identity: { node: string; boot: string };
  release: string;
  logger: Logger;
}

export interface WorkerParts {
  /** The node's own pool. */
  pool: InstancePool;
  /** A version in this node's catalog, caught up with the change feed when behind `revision`. */
  resolve(fn: string, version: string, revision: string | undefined): Promise<DeployTarget | undefined>;
}

export class ClusterNode {
  readonly roles: NodeRole[];
  private choice: WorkerChoice | undefined;
  private announcer: NodeAnnouncer | undefined;
  private listener: Server | undefined;
  private gatewayCount: NodeJS.Timeout | undefined;
  /** Where gateways reach this worker, once it listens. */
  address: string | undefined;

  private constructor(private readonly o: ClusterNodeOptions, readonly directory: NodeDirectory, readonly auth: ClusterAuth) {
    this.roles = o.opts.role === 'all' ? ['gateway', 'worker'] : [o.opts.role];
  }

  static async open(o: ClusterNodeOptions): Promise<ClusterNode> {
    const directory = await openNodeDirectory(o.kind, { dataDir: o.opts.dataDir, ttlMs: o.opts.nodeTtlMs, ...(o.nats ? { nats: o.nats } : {}), ...(o.prefix ? { prefix: o.prefix } : {}) });
    return new ClusterNode(o, directory, new ClusterAuth(o.keys));
  }

  /** The deploy folder this node competes to watch: on a gateway with ShortedFaaS's `--deploy-dir`. */
  get deployDir(): string | undefined {
    const o = this.o.opts;
    return o.deployDir !== undefined && o.compat.includes('shortedfaas') && this.roles.includes('gateway') ? resolve(o.deployDir) : undefined;
  }

  get runsInstances(): boolean {
    return this.roles.includes('worker');
  }

  /** A gateway's pool: calls go to workers. */
  remotePool(): RemoteInstancePool {
    this.choice ??= new WorkerChoice({
      directory: this.directory,
      refreshMs: Math.min(1000, this.o.opts.heartbeatIntervalMs),
      downMs: this.o.opts.nodeTtlMs,
      warn: (message, err) => this.o.logger.warn({ err }, message),
    });
    return new RemoteInstancePool({ choice: this.choice, auth: this.auth, controlTimeoutMs: 120_000, warn: (message, err) => this.o.logger.warn({ err }, message) });
  }

  /**
   * On a gateway: `counted(n)` with the number of live gateways (this one included), at start and
   * at every heartbeat interval; the rate limits split by it.
   */
  countGateways(counted: (gateways: number) => void): void {
    if (!this.roles.includes('gateway')) return;
    const look = async (): Promise<void> => {
      const nodes = await this.directory.list();
      const others = nodes.filter((n) => n.roles.includes('gateway') && n.id !== this.o.identity.node).length;
      counted(others + 1);
    };
    const tick = (): void => void look().catch((err: unknown) => this.o.logger.warn({ err }, 'counting the live gateways failed'));
    tick();
    this.gatewayCount = setInterval(tick, this.o.opts.heartbeatIntervalMs);
    this.gatewayCount.unref();
  }

  /** Starts serving gateways (workers) and the heartbeat; once the node is otherwise ready. */
  async start(worker: WorkerParts | undefined): Promise<void> {
    this.choice?.start();
    if (worker && this.runsInstances) await this.listen(worker);
    this.announcer = new NodeAnnouncer({
      directory: this.directory,
      identity: this.o.identity,
      roles: this.roles,
      ...(this.address ? { address: this.address } : {}),
      release: this.o.release,
      ...(this.deployDir ? { deployDir: this.deployDir } : {}),
      capacity: { instances: 256, memoryMb: Math.floor(totalmem() / 2 ** 20) },
      ...(worker && this.runsInstances ? { pool: worker.pool } : {}),
      intervalMs: this.o.opts.heartbeatIntervalMs,
      warn: (message, err) => this.o.logger.warn({ err }, message),
    });
    await this.announcer.start();
    this.o.logger.info({ node: this.o.identity.node, roles: this.roles, address: this.address }, `cluster node ${this.o.identity.node} (${this.roles.join(', ')}) announced`);
  }

  private async listen(worker: WorkerParts): Promise<void> {
    const endpoint = new WorkerEndpoint({
      nodeId: this.o.identity.node,
      auth: this.auth,
      pool: worker.pool,
      resolve: worker.resolve,
      warn: (message, err) => this.o.logger.warn({ err }, message),
    });
    const server = createServer({ keepAlive: true, requestTimeout: 0 });
    server.on('request', (req, res) => void endpoint.handle(req, res));
    server.on('upgrade', (req, socket, head) => void endpoint.upgrade(req, socket, head));
    const at = this.o.opts.clusterListen ? parseListenAddress('--cluster-listen', this.o.opts.clusterListen) : { host: this.o.opts.host, port: 0 };
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(at.port, at.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.listener = server;
    const bound = server.address();
    const port = typeof bound === 'object' && bound ? bound.port : at.port;
    if (this.o.opts.clusterAdvertise) this.address = new URL(this.o.opts.clusterAdvertise).origin;
    else if (at.host === '0.0.0.0' || at.host === '::') throw new Error(`--cluster-listen ${at.host}: say where gateways reach this worker with --cluster-advertise http://<address>:${port}`);
    else this.address = `http://${at.host.includes(':') ? `[${at.host}]` : at.host}:${port}`;
  }

  /**
   * Leaves the directory (gateways stop choosing this worker), lets calls in flight end within
   * `drainMs`, then stops serving gateways and reading the directory.
   */
  async close(drainMs: number): Promise<void> {
    clearInterval(this.gatewayCount);
    await this.announcer?.stop();
    this.choice?.stop();
    if (this.listener) {
      const l = this.listener;
      const closed = new Promise<void>((resolve) => l.close(() => resolve()));
      l.closeIdleConnections();
      const timer = setTimeout(() => l.closeAllConnections(), drainMs);
      await closed;
      clearTimeout(timer);
    }
    await this.directory.close();
  }
}
