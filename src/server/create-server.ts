import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ServerOptions } from '../config/index.js';
import { FerryError, sendProblem } from '../errors/index.js';
import { createLogger, Metrics, type Logger } from '../observe/index.js';
import { stores } from '../store/index.js';
import { FsPackageStore } from '../packages/index.js';
import { drivers } from '../sandbox/registry.js';
import { runtimes } from '../runtime/registry.js';
import { PrestartPool, preparePidDir, reapOrphans, Scheduler } from '../scheduler/index.js';
import { AccessTokens, Authenticator, bootstrapAdmin, InstanceTokens, LoginThrottle } from '../auth/index.js';
import { Accounts, Executions, FunctionLogs, FunctionService, InstanceApi, InvocationHistory, Objects, Schedules, Secrets, storedRequest } from '../service/index.js';
import { nodeIdentity } from './node-identity.js';
import { Invoker, parseFnPath, parseHost } from '../gateway/index.js';
import { createApi } from '../api/index.js';
import { ferryVersion } from './version.js';

/** A running Ferry server. */
export interface FerryServer {
  /** `http://host:port` it listens on. */
  url: string;
  /** The admin token when this start created it (first start only). */
  adminToken: string | undefined;
  /** Whether the sandbox driver isolates functions (false for `process`). */
  isolated: boolean;
  logger: Logger;
  /** Drains: stops accepting, waits for in-flight calls up to the drain timeout, stops instances. */
  close(): Promise<void>;
}

/**
 * The composition root: builds the store, package store, driver, runtimes, scheduler, services,
 * gateway and API from the options, and serves them on one Node HTTP server. The only place
 * that names implementations.
 */
export async function createServer(opts: ServerOptions, log?: Logger): Promise<FerryServer> {
  const logger = log ?? createLogger(opts.logLevel);
  await mkdir(opts.dataDir, { recursive: true, mode: 0o711 });
  // Searchable but not listable: sandboxed instances run as another uid and bwrap must reach
  // their package and run dir by path; everything private in here is mode 0600.
  await chmod(opts.dataDir, 0o711);
  const runRoot = join(opts.dataDir, 'run');
  // Instances a previous boot could not stop (it was killed) are stopped now, found by the pid
  // records in the server's own directory (never by anything in their run dirs).
  const pidDir = join(opts.dataDir, 'pids');
  await preparePidDir(pidDir);
  const orphans = await reapOrphans(pidDir);
  if (orphans) logger.warn({ orphans }, 'stopped instances left running by a previous server process');

  const makeDriver = drivers.get(opts.driver);
  if (!makeDriver) throw new Error(`unknown sandbox driver '${opts.driver}' (known: ${[...drivers.keys()].join(', ')})`);
  const driver = await makeDriver({ dataDir: opts.dataDir, bindable: opts.bindable, allowHostNetwork: opts.allowHostNetwork, egressAllow: opts.egressAllow, egressStack: opts.egressStack, sandboxUid: opts.sandboxUid, log: (level, message) => logger[level](message) });
  const stale = (await driver.cleanup?.()) ?? [];
  if (stale.length) logger.warn({ cgroups: stale.length }, 'removed sandbox cgroups left by a previous server process');
  // The old run dirs go only now, after the driver's cleanup has unmounted what the last boot left
  // mounted in them, and when nothing of an earlier boot runs that could swap what is in them
  // during the removal (which does not follow symbolic links).
  await rm(runRoot, { recursive: true, force: true });
  await mkdir(runRoot, { recursive: true, mode: 0o711 });
  if (!driver.isolated) {
    logger.warn(`sandbox driver '${driver.name}' does NOT isolate functions: they run as this user with full access to the host. Use it for development only.`);
  }
  const unenforced = driver.unenforced();
  if (unenforced.length) logger.warn({ unenforced }, 'limits not enforced by this sandbox driver');

  const store = stores.sqlite({ dataDir: opts.dataDir });
  // The database holds token hashes and logs: owner only (SQLite gives -wal/-shm the same mode).
  for (const f of ['ferry.db', 'ferry.db-wal', 'ferry.db-shm']) await chmod(join(opts.dataDir, f), 0o600).catch(() => {});
  const packages = new FsPackageStore(opts.dataDir);
  const metrics = new Metrics();
  const logs = new FunctionLogs(store, { maxAgeMs: opts.logRetentionMs, maxLines: opts.logMaxLines }, (err) => logger.error({ err }, 'function log write failed'));
  // The pre-booted pool: sandboxes started ahead of any call, so a first call skips the start.
  const prestartOff = opts.poolSize === 0 ? 'off (--pool-size 0)' : !driver.prestart ? `the ${driver.name} driver has none` : driver.poolUnavailable?.();
  const prestart = prestartOff
    ? undefined
    : new PrestartPool({ driver, runtimes: [...runtimes.values()], size: opts.poolSize, runRoot, pidDir, log: (level, message) => logger[level](message) });
  if (prestartOff) logger[opts.poolSize > 0 && driver.isolated ? 'warn' : 'info']({ reason: prestartOff }, `pre-booted sandbox pool disabled: ${prestartOff}; first calls start cold`);
  let secrets: Secrets | undefined;
  // Each instance's socket to Ferry and its token; requests on it are served below, as on TCP.
  const instanceTokens = new InstanceTokens((fn): string | undefined => service.catalog.owner(fn));
  const instanceApi = new InstanceApi({
    tokens: instanceTokens,
    handle: (req, res) => serveInstance(req, res),
    viewRunDir: (t, runDir) => driver.view({ packageDir: t.packageDir, runDir }).runDir,
    owner: driver.isolated && process.getuid?.() === 0 ? { uid: opts.sandboxUid, gid: opts.sandboxUid } : undefined,
  });
  const pool = new Scheduler({
    driver,
    runRoot,
    pidDir,
    ...(prestart ? { prestart } : { prestartOff }),
    // Bound late: secrets need the catalog, which needs the pool.
    hooks: {
      prepare: async (target, inst) => ({ ...(await secrets!.envFor(target)), ...(await instanceApi.prepare(target, inst)) }),
      release: (id) => instanceApi.release(id),
    },
    observer: {
      coldStart: (t, ms) => {
        metrics.coldStarts.labels(t.function, t.version).inc();
        metrics.coldStartSeconds.labels(t.function, t.version).observe(ms / 1000);
      },
      instances: (fn, v, n) => metrics.instances.labels(fn, v).set(n),
      queueDepth: (fn, v, n) => metrics.queueDepth.labels(fn, v).set(n),
      output: (inst, stream, source) => logs.attach(inst, stream, source),
      event: (inst, level, message) => {
        logs.system({ function: inst.function, version: inst.version, id: inst.id }, message);
        logger[level]({ function: inst.function, version: inst.version, instance: inst.id }, message);
      },
    },
  });
  const accessTokens = new AccessTokens(store.keys, opts.accessTokenTtlMs);
  const auth = new Authenticator(store, accessTokens, instanceTokens);
  const adminToken = await bootstrapAdmin(store, opts.dataDir);
  const accounts = new Accounts({
    store,
    access: accessTokens,
    throttle: new LoginThrottle(store.throttles, opts.loginMaxFailures),
    registration: opts.registration,
    defaultGroups: opts.defaultGroups,
    refreshTtlMs: opts.refreshTokenTtlMs,
    changed: () => auth.forget(),
  });
  const quotas = { functions: opts.quotaFunctions, memoryMb: opts.quotaMemoryMb, minInstances: opts.quotaMinInstances, versionMemoryMb: opts.quotaVersionMemoryMb, versionMaxInstances: opts.quotaVersionMaxInstances };
  // Late-bound: Secrets reads the service's catalog, the service checks versions' secrets.
  const service = new FunctionService({ store, packages, runtimes, pool, logger, quotas, checkSecrets: (owner, names) => secrets!.check(owner, names), archiveLimits: { maxEntries: opts.archiveMaxEntries, maxBytes: opts.archiveMaxBytes }, validateSandbox: driver.validate?.bind(driver) });
  secrets = new Secrets({ store, catalog: service.catalog, pool, warn: (message, err) => logger.warn({ err }, message) });
  const objects = new Objects({ store, maxBytes: opts.objectMaxBytes, quotaBytes: opts.quotaObjectBytes });
  await service.load();
  // Every call, sync or async, into the history: buffered here, written in batches.
  const history = new InvocationHistory({
    store,
    catalog: service.catalog,
    perFunction: opts.historyPerFunction,
    maxAgeMs: opts.historyRetentionMs,
    payloadMaxBytes: opts.historyPayloadMaxBytes,
    error: (err) => logger.warn({ err }, 'writing the invocation history failed'),
  });
  const executions = new Executions({
    ran: (r) =>
      history.record({
        time: r.startedAt, function: r.rec.function, version: r.rec.version, kind: 'async', status: r.status, durationMs: r.durationMs, requestId: r.rec.id, executionId: r.rec.id,
        method: r.rec.request.method, path: r.rec.request.path, requestBody: r.target.config.recordPayloads ? [r.rec.request.body] : undefined,
        responseBody: r.target.config.recordPayloads && r.responseBody ? [r.responseBody] : undefined,
      }),
    store,
    catalog: service.catalog,
    pool,
    logs,
    holder: await nodeIdentity(opts.dataDir),
    workers: opts.asyncWorkers,
    queueMax: opts.executionQueueMax,
    retentionMs: opts.executionRetentionMs,
    maxBodyBytes: opts.maxBodyBytes,
    callbackAllow: opts.callbackAllow,
    redactHeaders: opts.redactHeaders,
    callbackAttempts: opts.callbackAttempts,
    callbackTimeoutMs: opts.callbackTimeoutMs,
    userAgent: `ferry/${ferryVersion}`,
    warn: (message, err) => logger.warn({ err }, message),
    info: (message, fields) => logger.info(fields ?? {}, message),
  });
  // Before listening: what the last boot left running goes back to the queue at once.
  await executions.start();

  let ready = false;
  const sandboxHeader = driver.isolated ? [] : ['x-ferry-sandbox', 'none'];
  const schedules = new Schedules({
    store,
    // A schedule runs the function's latest version, as a POST to / carrying the schedule's body.
    submit: async (run) => {
      const target = service.resolve(run.function, undefined);
      const headers = ['content-type', run.contentType, 'x-ferry-schedule', run.schedule];
      await executions.submit({ target, public: false, request: storedRequest('POST', '/', headers, run.body), callback: null, idempotencyKey: run.idempotencyKey });
    },
    info: (message, fields) => logger.info(fields, message),
    warn: (message, err) => logger.warn({ err }, message),
  });
  const invoker = new Invoker({ resolve: (n, r) => service.resolve(n, r), ownerOf: (n) => service.catalog.owner(n), pool, auth, metrics, invokeAuth: opts.invokeAuth, maxBodyBytes: opts.maxBodyBytes, responseHeaders: sandboxHeader, executions, history: { record: (c) => history.record(c), payloadMaxBytes: opts.historyPayloadMaxBytes } });
  const api = createApi({ service, accounts, secrets, objects, pool, logs, metrics, auth, metricsPublic: opts.metricsPublic, maxUploadBytes: opts.maxUploadBytes, executions, history, schedules, maxBodyBytes: opts.maxBodyBytes, isReady: () => ready, version: ferryVersion, trustProxy: opts.trustProxy });
  const domain = opts.domain?.toLowerCase();

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    const route = parseHost(req.headers.host, domain, url) ?? parseFnPath(url);
    const work = route ? invoker.invoke(req, res, route) : api.handle(req, res);
    work.catch((err: unknown) => {
      logger.error({ err }, 'unhandled request error');
      sendProblem(res, FerryError.from(err));
    });
  };
  // Instance sockets route by path only (no --domain hosts) to the same gateway and router.
  const serveInstance = (req: IncomingMessage, res: ServerResponse): void => {
    const route = parseFnPath(req.url ?? '/');
    (route ? invoker.invoke(req, res, route) : api.handle(req, res)).catch((err: unknown) => {
      logger.error({ err }, 'unhandled instance API error');
      sendProblem(res, FerryError.from(err));
    });
  };
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => {});
    const url = req.url ?? '/';
    const route = parseHost(req.headers.host, domain, url) ?? parseFnPath(url);
    if (!route) {
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      return;
    }
    void invoker.upgrade(req, socket, head, route);
  };

  const server: Server = createHttpServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, onRequest);
  server.on('upgrade', onUpgrade);
  const upgraded = new Set<Duplex>();
  server.on('upgrade', (_req, socket: Duplex) => {
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  ready = true;
  prestart?.start();
  schedules.start();
  // Expired and revoked tokens and old login counters go after a week; hourly is plenty.
  const housekeeping = setInterval(() => {
    const weekAgo = Date.now() - 7 * 86_400_000;
    Promise.all([store.tokens.prune(weekAgo), store.throttles.prune(Date.now() - 86_400_000)]).catch((err) => logger.warn({ err }, 'token pruning failed'));
  }, 3_600_000);
  housekeeping.unref();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      ready = false;
      clearInterval(housekeeping);
      logger.info('draining');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => {
        logger.warn({ drainTimeoutMs: opts.drainTimeoutMs }, 'drain timeout: closing open streams and connections');
        server.closeAllConnections();
        for (const s of upgraded) s.destroy();
      }, opts.drainTimeoutMs);
      // Requests finishing during the drain leave idle keep-alive connections behind: close those too.
      const idle = setInterval(() => server.closeIdleConnections(), 100);
      // Runs in flight end meanwhile, on instances still up; the rest go back to the queue.
      await schedules.close();
      const executionsClosed = executions.close(opts.drainTimeoutMs);
      await closed;
      await executionsClosed;
      clearTimeout(timer);
      clearInterval(idle);
      for (const s of upgraded) s.destroy();
      await pool.shutdown(5000);
      instanceApi.close();
      await driver.close?.();
      await history.close();
      await logs.close();
      await store.close();
      logger.info('stopped');
    })());

  return { url: `http://${host}:${port}`, adminToken, isolated: driver.isolated, logger, close };
}
