/**
 * `ferry autoscaler`: the worker autoscaler as a process of its own. It reads the cluster on NATS
 * (the executions queue's counts, the workers' heartbeats), acts only while it holds the lease,
 * and asks its provider for workers. The composition root of that process, as create-server.ts is
 * of the server's.
 */
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseListenAddress } from '../config/cluster-options.js';
import type { NodeDirectory, Queues } from '../core/index.js';
import { createLogger, type Logger } from '../observe/index.js';
import { openQueues } from '../queue/index.js';
import { openNodeDirectory } from '../nodes/index.js';
import { Autoscaler } from '../cluster/autoscale/autoscaler.js';
import { AutoscalerMetrics } from '../cluster/autoscale/autoscaler-metrics.js';
import { workerEnvironment, type AutoscalerOptions } from '../cluster/autoscale/autoscaler-options.js';
import { KvLease } from '../cluster/autoscale/kv-lease.js';
import { readScaleMetrics } from '../cluster/autoscale/scale-metrics.js';
import type { WorkerProvider } from '../cluster/autoscale/providers/provider.js';
import { LocalProcessProvider } from '../cluster/autoscale/providers/local-processes.js';
import { CommandHookProvider } from '../cluster/autoscale/providers/command-hook.js';
import { natsLogin } from './nats-login.js';

/** A running autoscaler. */
export interface AutoscalerProcess {
  logger: Logger;
  /** `http://host:port/metrics` when `--metrics-listen` is set. */
  metricsUrl: string | undefined;
  /**
   * Stops deciding, gives the lease up, then stops the local workers the way a scale-down does
   * (SIGTERM: each finishes its executions, within --worker-stop-timeout). A command hook's
   * workers are left as they are.
   */
  close(): Promise<void>;
}

export async function startAutoscaler(opts: AutoscalerOptions, log?: Logger): Promise<AutoscalerProcess> {
  const logger = log ?? createLogger(opts.logLevel);
  const nats = await natsLogin(opts);
  const prefix = opts.natsPrefix;
  const workerDataRoot = resolve(opts.workerDataRoot);
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse()) await close().catch((err: unknown) => logger.warn({ err }, 'error while stopping the autoscaler'));
  };
  try {
    const queues: Queues = await openQueues('nats', { dataDir: workerDataRoot, nats, natsPrefix: prefix }).catch((err: unknown) => {
      throw new Error(`cannot reach NATS at ${nats.servers.join(', ')} (--store): ${(err as Error).message}`, { cause: err });
    });
    closers.push(() => queues.close());
    const directory: NodeDirectory = await openNodeDirectory('nats', { dataDir: workerDataRoot, ttlMs: opts.nodeTtlMs, nats, prefix });
    closers.push(() => directory.close());
    const executions = queues.queue('executions');
    const provider = makeProvider(opts, workerDataRoot, logger);
    closers.push(async () => {
      if (provider.kind === 'local' && (await provider.current()) > 0) logger.info({ workers: await provider.current() }, 'stopping the local workers: each finishes its executions first');
      await provider.close();
    });
    const holder = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    const lease = await KvLease.open({
      nats,
      prefix,
      ttlMs: opts.leaseTtlMs,
      holder,
      changed: (held, other) => {
        if (held) logger.info({ holder }, 'holding the autoscaler lease: this autoscaler acts');
        else logger.info({ holder: other?.id, since: other?.since }, `standing by: ${other ? `the autoscaler ${other.id} holds the lease` : 'the lease is not held'}`);
      },
      warn: (message, err) => logger.warn({ err }, message),
    });
    // Given up before the local workers drain: a standby may start its own meanwhile.
    closers.push(() => lease.stop());
    const exported = new AutoscalerMetrics();
    let metricsUrl: string | undefined;
    if (opts.metricsListen) {
      const listener = await serveMetrics(opts.metricsListen, exported);
      closers.push(() => new Promise<void>((done) => listener.server.close(() => done())));
      metricsUrl = listener.url;
    }
    const autoscaler = new Autoscaler({
      settings: opts,
      metrics: () => readScaleMetrics(executions, directory),
      provider,
      logger,
      exported,
      lease,
    });
    closers.push(() => autoscaler.stop());
    await lease.start();
    autoscaler.start();
    logger.info({ provider: provider.kind, minWorkers: opts.minWorkers, maxWorkers: opts.maxWorkers, scaleUpThreshold: opts.scaleUpThreshold, scaleDownThreshold: opts.scaleDownThreshold, checkIntervalMs: opts.checkIntervalMs, cooldownMs: opts.cooldownMs, leaseTtlMs: lease.ttlMs, metrics: metricsUrl }, 'Ferry autoscaler started');
    return { logger, metricsUrl, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

function makeProvider(opts: AutoscalerOptions, workerDataRoot: string, logger: Logger): WorkerProvider {
  if (opts.provider === 'command') {
    // The count it starts from is the live workers', set when this autoscaler takes the lease.
    return new CommandHookProvider({ argv: [opts.providerCommand!], timeoutMs: opts.providerTimeoutMs, initial: 0, logger, withheld: ['FERRY_NATS_PASSWORD', 'FERRY_NATS_TOKEN'] });
  }
  const cli = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  return new LocalProcessProvider({
    argv: [process.execPath, cli, 'server', '--role', 'worker', ...opts.workerArgs],
    env: workerEnvironment(opts),
    dataRoot: workerDataRoot,
    stopTimeoutMs: opts.workerStopTimeoutMs,
    logger,
  });
}

async function serveMetrics(address: string, exported: AutoscalerMetrics): Promise<{ server: Server; url: string }> {
  const at = parseListenAddress('--metrics-listen', address);
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    exported.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': exported.registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(at.port, at.host, () => done());
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : at.port;
  return { server, url: `http://${at.host.includes(':') ? `[${at.host}]` : at.host}:${port}/metrics` };
}
