import { chmod, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ServerOptions } from '../config/index.js';
import type { DeployTarget, Invocation, InvocationOutcome, ResponseWriter } from '../core/index.js';
import { createLogger, Metrics, type Logger } from '../observe/index.js';
import { isStoreKind, openStore, storeKindOf } from '../store/index.js';
import { guarded, natsAway } from '../nats/index.js';
import { openQueues, queueFileName } from '../queue/index.js';
import { blobStores } from '../blobs/index.js';
import { FsPackageStore } from '../packages/index.js';
import { LazyImageImporter } from '../images/lazy-importer.js';
import { loadRegistrySettings } from '../images/registry-settings.js';
import { buildSandbox } from './sandbox-tiers.js';
import { runtimes } from '../runtime/registry.js';
import { pythonInterpreter } from '../sandbox/rootfs/index.js';
import { LazyDependencyBuilder } from '../build/lazy-builder.js';
import { PrestartPool, preparePidDir, reapOrphans, Scheduler, VersionChecker, AdHocRunner } from '../scheduler/index.js';
import { AccessTokens, Authenticator, bootstrapAdmin, InstanceTokens, LoginThrottle } from '../auth/index.js';
import { Accounts, Executions, FunctionLogs, FunctionService, InstanceApi, InvocationHistory, Objects, Schedules, Secrets, storedRequest } from '../service/index.js';
import { nodeIdentity } from './node-identity.js';
import { inCluster } from './in-cluster.js';
import { claimServerSlot } from './server-slot.js';
import { Pipeline } from '../pipeline/index.js';
import { makeRateLimits } from './rate-limits.js';
import { HttpInvocations } from '../frontends/http/index.js';
import { surfaces as surfaceRegistry } from '../surfaces/registry.js';
import { frontEnds as frontEndRegistry } from '../frontends/registry.js';
import type { FrontEnd, FrontEndFactory } from '../frontends/index.js';
import { dispatcher, parseSurfaceListen, planListeners, surfacesDocument, type HttpSurface, type ListenerPlan, type SurfaceContext, type SurfaceFactory } from '../surfaces/index.js';
import { ferryVersion } from './version.js';
import { linkBase, startListeners, type Listeners } from './listeners.js';

/** A running Ferry server. */
export interface FerryServer {
  /** `http://host:port` it listens on. */
  url: string;
  /** Every listener: the main one first, then those surfaces have of their own (`--surface-listen`). */
  listeners: Array<{ url: string; surfaces: string[] }>;
  /** The front ends of other protocols that are on (`--coap-port`, `--grpc-port`), where they listen. */
  frontEnds: Array<{ name: string; urls: string[] }>;
  /**
   * The invocation pipeline, in process: no socket between the caller and Ferry (the function's
   * instance is reached as for any call). Answers how the call ended; the answer is in `writer`.
   */
  invoke(invocation: Invocation, writer: ResponseWriter): Promise<InvocationOutcome>;
  /** The admin token when this start created it (first start only). */
  adminToken: string | undefined;
  /** Whether the sandbox driver isolates functions (false for `process`). */
  isolated: boolean;
  logger: Logger;
  /** Drains: stops accepting, waits for in-flight calls up to the drain timeout, stops instances. */
  close(): Promise<void>;
}

/** What a caller may put in place of the defaults (tests: a surface of their own). */
export interface ServerParts {
  /** The HTTP surfaces by name (default: `surfaces/registry.ts`). */
  surfaces?: ReadonlyMap<string, SurfaceFactory>;
  /** The front ends of other protocols by name (default: `frontends/registry.ts`). */
  frontEnds?: ReadonlyMap<string, FrontEndFactory>;
}

/**
 * The composition root: builds the store, package store, driver, runtimes, scheduler, services,
 * the invocation pipeline and the HTTP surfaces from the options, and serves the surfaces on
 * their listeners. The only place that names implementations.
 */
export async function createServer(opts: ServerOptions, log?: Logger, parts: ServerParts = {}): Promise<FerryServer> {
  const registry = parts.surfaces ?? surfaceRegistry;
  // A bad --surface-listen stops the start before anything else happens.
  const ownAddresses = parseSurfaceListen(opts.surfaceListen, registry.keys());
  // So does a store kind Ferry does not know.
  if (!isStoreKind(opts.store)) throw new Error(`unknown store '${opts.store}' (--store; known: sqlite, nats://host:port)`);
  // So do a registry login file others can read and a CA file that is not one: image pulls
  // take these settings (ImagePuller), and an operator learns of a bad file at start.
  const registrySettings = loadRegistrySettings(opts);
  const logger = log ?? createLogger(opts.logLevel);
  await mkdir(opts.dataDir, { recursive: true, mode: 0o711 });
  // Searchable but not listable: sandboxed instances run as another uid and bwrap must reach
  // their package and run dir by path; everything private in here is mode 0600.
  await chmod(opts.dataDir, 0o711);
  // This process's own run dir, pid records, node id and scratch dirs: another server process on
  // the same data dir keeps its own (server-slot.ts).
  const slot = await claimServerSlot(opts.dataDir);
  const runRoot = join(opts.dataDir, slot.name('run'));
  // Instances a previous boot could not stop (it was killed) are stopped now, found by the pid
  // records in the server's own directory (never by anything in their run dirs).
  const pidDir = join(opts.dataDir, slot.name('pids'));
  await preparePidDir(pidDir);
  const orphans = await reapOrphans(pidDir);
  if (orphans) logger.warn({ orphans }, 'stopped instances left running by a previous server process');

  const driver = await buildSandbox(opts.driver, opts.sandboxTiers, { dataDir: opts.dataDir, runRoot, slot: slot.n, bindable: opts.bindable, allowHostNetwork: opts.allowHostNetwork, egressAllow: opts.egressAllow, egressStack: opts.egressStack, sandboxUid: opts.sandboxUid, microvmPool: opts.microvmPool, microvmEgressPool: opts.microvmEgressPool, microvmAccel: opts.microvmAccel, log: (level, message) => logger[level](message) });
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

  // On NATS: one connection for everything (its login read once, here); an unreachable server
  // fails the start, before anything listens. The queues and the blobs are on JetStream too.
  const nats = storeKindOf(opts.store) === 'nats' ? await (await import('./nats-login.js')).natsLogin(opts) : undefined;
  const onNats = nats ? { nats, natsPrefix: opts.natsPrefix } : {};
  const store = await openStore(opts.store, { dataDir: opts.dataDir, ...onNats });
  // Runs and callbacks wait in queues of the same kind as the store.
  const queues = await openQueues(nats ? 'nats' : opts.store, { dataDir: opts.dataDir, ...onNats, natsAckWaitMs: opts.natsAckWaitMs }).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  // The database holds token hashes and logs: owner only (SQLite gives -wal/-shm the same mode).
  for (const f of ['ferry.db', 'ferry.db-wal', 'ferry.db-shm']) await chmod(join(opts.dataDir, f), 0o600).catch(() => {});
  for (const f of [queueFileName, `${queueFileName}-wal`, `${queueFileName}-shm`]) await chmod(join(opts.dataDir, f), 0o600).catch(() => {});
  const identity = await nodeIdentity(join(opts.dataDir, slot.name('node-id')));
  // In a cluster: the heartbeat, and on a gateway the pool that sends calls to workers. Loaded
  // only then: a single server keeps the cluster's code out of memory.
  const cluster = inCluster(opts)
    ? await (await import('./cluster-node.js')).ClusterNode.open({ opts, kind: nats ? 'nats' : 'sqlite', ...(nats ? { nats, prefix: opts.natsPrefix } : {}), keys: store.keys, identity, release: ferryVersion, logger }).catch(async (err: unknown) => {
        await queues.close();
        await store.close();
        throw err;
      })
    : undefined;
  const gatewayOnly = cluster !== undefined && !cluster.runsInstances;
  // Package contents by digest; this host keeps its own unpacked copies beside them (packages/).
  const blobs = await (nats ? blobStores.nats({ dataDir: opts.dataDir, ...onNats }) : blobStores.local({ dataDir: opts.dataDir, scratch: slot.name('.incoming') }));
  const packages = new FsPackageStore(opts.dataDir, blobs, slot.name('.staging'));
  // In a cluster every series names its node, so a scrape of all nodes sums correctly.
  const metrics = new Metrics(cluster ? { node: identity.node } : {});
  const logs = new FunctionLogs(store, { maxAgeMs: opts.logRetentionMs, maxLines: opts.logMaxLines, ...(cluster ? { node: identity.node, shared: true } : {}) }, (err) => logger.error({ err }, 'function log write failed'));
  // The pre-booted pool: sandboxes started ahead of any call, so a first call skips the start.
  const prestartOff = gatewayOnly ? 'this node is a gateway (--role gateway): workers run the instances' : opts.poolSize === 0 ? 'off (--pool-size 0)' : !driver.prestart ? `the ${driver.name} driver has none` : driver.poolUnavailable?.();
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
    alsoServes: (path) => on.some((s) => s.instancePaths?.test(path) === true),
  });
  const localPool = gatewayOnly ? undefined : new Scheduler({
    driver,
    runtimes,
    packages,
    runRoot,
    pidDir,
    ...(prestart ? { prestart } : { prestartOff }),
    // Bound late: secrets need the catalog, which needs the pool.
    hooks: {
      prepare: async (target, inst) => {
        const api = instanceApi.prepare(target, inst);
        return { env: { ...(await secrets!.envFor(target)), ...api.env }, onInstanceStream: api.onInstanceStream };
      },
      release: (id) => instanceApi.release(id),
    },
    observer: {
      coldStart: (t, ms) => {
        metrics.coldStarts.labels(t.function, t.version).inc();
        metrics.sandbox.labels(t.function, t.version, driver.isolated ? driver.tierOf(t.config.sandbox) : 'none').set(1);
        metrics.traffic.coldStart(t.function);
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
  const pool = localPool ?? cluster!.remotePool();
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
  const builder = new LazyDependencyBuilder({
    driver,
    dataDir: opts.dataDir,
    sources: { npmRegistry: opts.npmRegistry, pipIndexUrl: opts.pipIndexUrl, pipFindLinks: opts.pipFindLinks, privateSources: opts.buildAllowPrivateSources },
    timeoutMs: opts.buildTimeoutMs,
    maxBytes: opts.buildMaxBytes,
    cacheMaxBytes: opts.buildCacheMaxBytes,
    allowHostNetwork: opts.allowHostNetwork,
    node: { executable: process.execPath },
    python: pythonInterpreter,
  });
  await builder.cleanup();
  const quotas = { functions: opts.quotaFunctions, memoryMb: opts.quotaMemoryMb, minInstances: opts.quotaMinInstances, versionMemoryMb: opts.quotaVersionMemoryMb, versionMaxInstances: opts.quotaVersionMaxInstances };
  // Late-bound: Secrets reads the service's catalog, the service checks versions' secrets.
  const service = new FunctionService({ store, packages, cache: packages, runtimes, pool, logger, quotas, checkSecrets: (owner, names) => secrets!.check(owner, names), archiveLimits: { maxEntries: opts.archiveMaxEntries, maxBytes: opts.archiveMaxBytes }, images: new LazyImageImporter({ dataDir: opts.dataDir, scratchSuffix: slot.name(''), maxBytes: opts.imageMaxBytes, maxEntries: opts.imageMaxEntries, registry: registrySettings }), validateSandbox: driver.validate?.bind(driver), tierOf: (s) => (driver.isolated ? driver.tierOf(s) : 'none'), adminTier: (s) => (opts.adminTiers.includes(driver.tierOf(s)) ? driver.tierOf(s) : undefined), buildDependencies: (ctx) => builder.build(ctx), check: { checker: new VersionChecker({ driver, runRoot }), strictTypes: opts.strictTypes } });
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
  let ready = false;
  // Unisolated answers say so on every answer (errors too); isolated ones name their version's tier.
  const sandboxHeader = driver.isolated ? [] : ['x-ferry-sandbox', 'none'];
  // Late-bound: the pipeline hands asynchronous invocations to the executions, whose runs go
  // through the pipeline (they start below, once it exists).
  const executions = new Executions({
    run: (inv, writer): Promise<InvocationOutcome> => pipeline.invoke(inv, writer),
    store,
    queues,
    catalog: service.catalog,
    logs,
    holder: identity,
    // A gateway runs no executions: workers pull them.
    workers: gatewayOnly ? 0 : opts.asyncWorkers,
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
  const rateLimits = makeRateLimits(opts, metrics);
  const pipeline: Pipeline = new Pipeline({
    resolve: (n, r) => service.resolve(n, r),
    targetOf: (n, v) => service.catalog.target(n, v),
    ownerOf: (n) => service.catalog.owner(n),
    pool,
    auth,
    metrics,
    invokeAuth: opts.invokeAuth,
    maxBodyBytes: opts.maxBodyBytes,
    responseHeaders: sandboxHeader,
    ...(driver.isolated && { sandboxOf: (t: DeployTarget) => driver.tierOf(t.config.sandbox) }),
    executions,
    history: { record: (c) => history.record(c), payloadMaxBytes: opts.historyPayloadMaxBytes },
    rateLimits: rateLimits.functions,
  });
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
  // The HTTP surfaces that are on, where each listens, and the one document of them all.
  let doc: object | undefined;
  // Where the fn surface listens when it has a listener of its own (known once listening).
  let fnUrl: string | undefined;
  const ctx: SurfaceContext = {
    options: opts,
    pipeline,
    invocations: new HttpInvocations(pipeline),
    services: { service, accounts, secrets, objects, pool, logs, metrics, auth, cluster: {
      clustered: cluster !== undefined,
      ...(cluster ? { self: identity.node } : {}),
      // NATS away: 503 store-unavailable, as the queues' counts.
      nodes: async () => (cluster ? guarded(() => cluster.directory.list()) : []),
      queues: () => guarded(async () => ({ executions: await queues.queue('executions').stats(), callbacks: await queues.queue('callbacks').stats() })),
    }, metricsPublic: opts.metricsPublic, maxUploadBytes: opts.maxUploadBytes, executions, history, schedules, maxBodyBytes: opts.maxBodyBytes, runner: new AdHocRunner({ driver, runRoot, timeoutCapMs: opts.runTimeoutMs, maxOutputBytes: opts.runOutputMaxBytes, graceMs: opts.stopGraceMs, onEnd: (label, outcome, program, ms) => {
      metrics.adHocRuns.inc({ label, outcome });
      // The program only: its arguments and environment may carry what the caller keeps private.
      logger.info({ label, program, outcome, ms: Math.round(ms) }, 'ad-hoc run');
    } }), allowRun: opts.allowRun, sandboxTiers: driver.tiers, adminTiers: opts.adminTiers, isReady: () => ready, ...(nats ? { storeAway: natsAway } : {}), version: ferryVersion, trustProxy: opts.trustProxy, invocationBase: (host) => (fnUrl === undefined ? undefined : linkBase(fnUrl, host)) },
    openapi: () => (doc ??= surfacesDocument(mounted, ferryVersion)),
    logger,
  };
  const on: HttpSurface[] = [];
  for (const make of registry.values()) {
    const surface = await make(ctx);
    if (surface) on.push(surface);
  }
  for (const name of ownAddresses.keys()) if (!on.some((s) => s.name === name)) logger.warn({ surface: name }, `--surface-listen names surface '${name}', which is off in this configuration`);
  const failed = (err: unknown): void => logger.error({ err }, 'unhandled request error');
  // Instance sockets route by path only (no --domain hosts), to the invocations and the API.
  const serveInstance = dispatcher(on.filter((s) => s.name === 'fn' || s.name === 'v1' || s.instancePaths !== undefined), failed).request;
  // What stopping releases once nothing is served: instances (given graceMs), then the stores.
  const releaseAll = async (graceMs: number): Promise<void> => {
    await pool.shutdown(graceMs);
    instanceApi.close();
    await driver.close?.();
    await history.close();
    await logs.close();
    await service.close();
    await queues.close();
    await store.close();
    await blobs.close?.();
    await slot.release();
  };
  let plans: ListenerPlan[];
  let listeners: Listeners | undefined;
  const started: FrontEnd[] = [];
  const closeFrontEnds = (drainMs: number): Promise<unknown> => Promise.all(started.map((f) => f.close(drainMs).catch((err) => logger.warn({ err, frontEnd: f.name }, 'closing a front end failed'))));
  try {
    // Surfaces that clash on a listener stop the start here, naming both.
    plans = planListeners(on, { host: opts.host, port: opts.port }, ownAddresses);
    // Before listening: what the last boot left running goes back to the queue at once.
    await executions.start();
    listeners = await startListeners(plans, (plan) => dispatcher(plan.surfaces, failed, rateLimits.gate));
    await cluster?.start(localPool && {
      pool: localPool,
      resolve: async (fn, version, revision) => {
        const known = service.catalog.target(fn, version);
        if (known && (revision === undefined || known.revision === revision)) return known;
        // The gateway saw a change this node has not followed yet.
        await service.caughtUp();
        return service.catalog.target(fn, version);
      },
    });
    cluster?.countGateways((n) => rateLimits.share(n));
    // The other protocols' front ends (off unless their port is set); one that cannot bind stops the start.
    for (const [name, make] of parts.frontEnds ?? frontEndRegistry) {
      const f = await make({ options: opts, invoke: (inv, writer) => pipeline.invoke(inv, writer), logger }).catch((err: unknown) => {
        throw new Error(`front end ${name}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      });
      if (f) started.push(f);
    }
  } catch (err) {
    await closeFrontEnds(0);
    await listeners?.close(0, () => {});
    await cluster?.close(0);
    await executions.close(0);
    await releaseAll(0);
    throw err;
  }
  const mounted = plans.flatMap((plan, i) => plan.surfaces.map((surface) => ({ surface, url: plan.main ? undefined : listeners.urls[i] })));
  fnUrl = mounted.find((m) => m.surface.name === 'fn')?.url;
  for (const f of started) logger.info({ frontEnd: f.name, urls: f.urls }, `${f.name} listening on ${f.urls.join(', ')}`);
  for (let i = 1; i < plans.length; i++) logger.info({ url: listeners.urls[i], surfaces: plans[i]!.surfaces.map((s) => s.name) }, `surfaces ${plans[i]!.surfaces.map((s) => s.name).join(', ')} listening on ${listeners.urls[i]}`);
  ready = true;
  for (const s of on) s.start?.();
  prestart?.start();
  schedules.start();
  // Expired and revoked tokens and old login counters go after a week; hourly is plenty.
  const housekeeping = setInterval(() => {
    const weekAgo = Date.now() - 7 * 86_400_000;
    Promise.all([store.tokens.prune(weekAgo), store.throttles.prune(Date.now() - 86_400_000)]).catch((err) => logger.warn({ err }, 'token pruning failed'));
    // Deletes another process began and did not finish (it crashed) are finished here.
    void service.sweepDeleted();
  }, 3_600_000);
  housekeeping.unref();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      ready = false;
      clearInterval(housekeeping);
      logger.info('draining');
      const frontEndsClosed = closeFrontEnds(opts.drainTimeoutMs);
      const closed = listeners!.close(opts.drainTimeoutMs, () => logger.warn({ drainTimeoutMs: opts.drainTimeoutMs }, 'drain timeout: closing open streams and connections'));
      // Runs in flight end meanwhile, on instances still up; the rest go back to the queue.
      await schedules.close();
      const executionsClosed = executions.close(opts.drainTimeoutMs);
      await closed;
      await Promise.all(on.map((s) => Promise.resolve(s.close?.()).catch((err: unknown) => logger.warn({ err, surface: s.name }, 'closing a surface failed'))));
      await frontEndsClosed;
      await executionsClosed;
      await cluster?.close(opts.drainTimeoutMs);
      await releaseAll(opts.stopGraceMs);
      logger.info('stopped');
    })());

  return {
    url: listeners.urls[0]!,
    listeners: plans.map((plan, i) => ({ url: listeners!.urls[i]!, surfaces: plan.surfaces.map((s) => s.name) })),
    frontEnds: started.map((f) => ({ name: f.name, urls: f.urls })),
    invoke: (inv, writer) => pipeline.invoke(inv, writer),
    adminToken,
    isolated: driver.isolated,
    logger,
    close,
  };
}

