import type { InstancePool } from '../core/index.js';
import { routeAccess, type Authenticator } from '../auth/index.js';
import type { Metrics } from '../observe/index.js';
import type { Accounts, Executions, FunctionLogs, FunctionService, InvocationHistory, Objects, Schedules, Secrets } from '../service/index.js';
import { IpList } from '../util/ip-list.js';
import { ApiRouter } from './router.js';
import { buildOpenApi } from './openapi.js';
import type { RouteDef } from './route.js';
import { makeFunctionRoutes } from './routes/functions.js';
import { makeVersionRoutes } from './routes/versions.js';
import { makeAliasRoutes } from './routes/aliases.js';
import { makeInstanceRoutes } from './routes/instances.js';
import { makeLogRoutes } from './routes/logs.js';
import { makePoolRoutes } from './routes/pool.js';
import { makeSystemRoutes } from './routes/system.js';
import { makeAuthRoutes } from './routes/auth.js';
import { makeUserRoutes } from './routes/users.js';
import { makeTokenRoutes } from './routes/tokens.js';
import { makeSecretRoutes } from './routes/secrets.js';
import { makeExecutionRoutes } from './routes/executions.js';
import { makeObjectRoutes } from './routes/objects.js';
import { makeInvocationRoutes } from './routes/invocations.js';
import { makeScheduleRoutes } from './routes/schedules.js';
import { makeRunRoutes } from './routes/run.js';
import { makeTrafficRoutes } from './routes/traffic.js';
import { makeSessionRoutes } from './routes/session.js';
import { BrowserSessions } from './browser-sessions.js';
import { makeErrorRoutes } from './routes/errors.js';
import { makeClusterRoutes, type ClusterView } from './routes/cluster.js';
import type { AdHocRunner } from '../scheduler/index.js';

export { ApiRouter } from './router.js';
export { apiOperations, buildOpenApi, openApiDocument } from './openapi.js';
export type { ApiContext, ApiResult, RouteDef } from './route.js';

export interface ApiDeps {
  service: FunctionService;
  accounts: Accounts;
  secrets: Secrets;
  objects: Objects;
  pool: InstancePool;
  logs: FunctionLogs;
  metrics: Metrics;
  auth: Authenticator;
  metricsPublic: boolean;
  maxUploadBytes: number;
  executions: Executions;
  history: InvocationHistory;
  schedules: Schedules;
  /** Largest request body of an asynchronous execution. */
  maxBodyBytes: number;
  /** Ad-hoc commands (`POST /v1/run`); `allowRun` is `--allow-run`. */
  runner: AdHocRunner;
  allowRun: boolean;
  /** The sandbox tiers a run may ask for (`--driver` first, then `--sandbox-tiers`), and those only admins may (`--admin-tiers`). */
  sandboxTiers: readonly string[];
  adminTiers: readonly string[];
  isReady(): boolean;
  /** Whether the store is known to be unreachable right now (NATS down, reconnecting): `/healthz` says so. */
  storeAway?(): boolean;
  version: string;
  /** The OpenAPI document `/v1/openapi.json` serves (default: the API's own operations). */
  openapi?(): object;
  /** Proxies whose X-Forwarded-For names the client (`--trust-proxy`). */
  trustProxy?: string[];
  /**
   * The base of the `/fn` links in answers when the `fn` surface listens apart
   * (`--surface-listen fn=...`), given the Host the caller used; undefined: that Host.
   */
  invocationBase?(requestHost: string): string | undefined;
  /** The cluster's nodes and queues (`GET /v1/cluster`). */
  cluster: ClusterView;
}

/** The one route table of the management API, and its router. */
export function createApi(d: ApiDeps): ApiRouter {
  let doc: object | undefined;
  const routes: RouteDef[] = [];
  const trustProxy = new IpList(d.trustProxy ?? []);
  const sessions = new BrowserSessions(d.accounts, d.auth);
  routes.push(
    ...makeSystemRoutes({ metrics: d.metrics, metricsPublic: d.metricsPublic, isReady: d.isReady, ...(d.storeAway ? { storeAway: d.storeAway } : {}), openapi: d.openapi ?? (() => (doc ??= buildOpenApi(router.accessTable, d.version))), ownerOf: (name) => d.service.catalog.owner(name) }),
    ...makeAuthRoutes(d.accounts, trustProxy),
    ...makeSessionRoutes(sessions, trustProxy),
    ...makeUserRoutes(d.accounts),
    ...makeTokenRoutes(d.accounts),
    ...makeSecretRoutes(d.secrets),
    ...makeFunctionRoutes(d.service),
    ...makeVersionRoutes(d.service, d.maxUploadBytes),
    ...makeAliasRoutes(d.service),
    ...makeInstanceRoutes(d.service, d.pool),
    ...makePoolRoutes(d.pool),
    ...makeLogRoutes(d.service, d.logs),
    ...makeObjectRoutes(d.objects),
    ...makeInvocationRoutes(d.history),
    ...makeScheduleRoutes(d.schedules),
    ...makeExecutionRoutes(d.service, () => d.executions, d.maxBodyBytes),
    ...makeRunRoutes({ runner: d.runner, allowed: d.allowRun, maxPayloadBytes: d.maxBodyBytes, catalog: d.service.catalog, packageDir: (t) => d.service.packageDir(t), tiers: d.sandboxTiers, adminTiers: d.adminTiers }),
    ...makeTrafficRoutes(d.service, d.metrics.traffic),
    ...makeErrorRoutes(),
    ...makeClusterRoutes(d.cluster),
  );
  const router = new ApiRouter(routes, d.auth, routeAccess({ metricsPublic: d.metricsPublic }), (name) => d.service.catalog.owner(name), (id) => d.executions.accessOf(id), d.invocationBase, sessions);
  return router;
}
