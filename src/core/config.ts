import { FerryError } from '../errors/index.js';
import type { VersionRecord } from './records.js';
import type { CorsPolicy } from './cors.js';
import { defaultConcurrency, defaultExecutionSettings, defaultLimits, defaultPrivacySettings, defaultSandbox, defaultScaling, type EffectiveConfig, type RateLimit } from './manifest.js';

/** Environment names a user may not set: Ferry owns them. */
export function reservedEnvName(name: string): boolean {
  return name === 'PORT' || name.startsWith('FERRY_') || name.startsWith('HTTP_');
}

export function assertUserEnv(env: Record<string, string> | undefined, where: string): void {
  if (!env) return;
  for (const name of Object.keys(env)) {
    if (reservedEnvName(name)) {
      throw new FerryError('invalid-env', `${where}: '${name}' is reserved (PORT, FERRY_* and HTTP_* are set by Ferry)`, { extras: { name } });
    }
  }
}

/** Merges manifest, then PATCH override, then defaults, into the configuration an instance runs with. */
export function effectiveConfig(v: Pick<VersionRecord, 'manifest' | 'override'>): EffectiveConfig {
  const m = v.manifest;
  const o = v.override;
  const scaling = { ...defaultScaling, concurrency: defaultConcurrency(m.runtime), ...m.scaling, ...o.scaling };
  // A cold instance serves one call and goes: none is kept waiting, none shared.
  if (scaling.mode === 'cold') Object.assign(scaling, { concurrency: 1, minInstances: 0 });
  // A hot function is started at deploy and kept; a scalable one keeps one unless told otherwise.
  if (scaling.mode === 'hot') scaling.minInstances = Math.max(1, scaling.minInstances);
  if (scaling.mode === 'scalable' && m.scaling?.minInstances === undefined && o.scaling?.minInstances === undefined) scaling.minInstances = 1;
  if (scaling.minInstances > scaling.maxInstances) scaling.maxInstances = scaling.minInstances;
  return {
    runtime: m.runtime,
    ...(m.handler !== undefined ? { handler: m.handler } : {}),
    ...(m.command !== undefined ? { command: m.command } : {}),
    ...(m.port !== undefined ? { port: m.port } : {}),
    ...(m.image !== undefined ? { image: m.image } : {}),
    ...(m.contract !== undefined ? { contract: m.contract } : {}),
    env: { ...m.env, ...o.env },
    secrets: o.secrets ?? m.secrets ?? [],
    scaling,
    limits: { ...defaultLimits, ...m.limits, ...o.limits },
    invoke: o.invoke ?? m.invoke ?? 'public',
    asyncTimeoutMs: o.asyncTimeoutMs ?? m.asyncTimeoutMs ?? defaultExecutionSettings.asyncTimeoutMs,
    recordPayloads: o.recordPayloads ?? m.recordPayloads ?? false,
    retries: o.retries ?? m.retries ?? defaultExecutionSettings.retries,
    maxConcurrentExecutions: o.maxConcurrentExecutions ?? m.maxConcurrentExecutions ?? defaultExecutionSettings.maxConcurrentExecutions,
    errors: o.errors ?? m.errors ?? defaultPrivacySettings.errors,
    recordCredentials: o.recordCredentials ?? m.recordCredentials ?? defaultPrivacySettings.recordCredentials,
    ...traffic(o.cors ?? m.cors, o.rateLimit ?? m.rateLimit),
    sandbox: {
      ...((o.tier ?? m.tier) !== undefined ? { tier: (o.tier ?? m.tier)! } : {}),
      network: o.network ?? m.network ?? defaultSandbox.network,
      ...((o.seccomp ?? m.seccomp) !== undefined ? { seccomp: (o.seccomp ?? m.seccomp)! } : {}),
      roBinds: o.roBinds ?? m.roBinds ?? defaultSandbox.roBinds,
      mountProc: o.mountProc ?? m.mountProc ?? defaultSandbox.mountProc,
      mountDev: o.mountDev ?? m.mountDev ?? defaultSandbox.mountDev,
      mountTmp: o.mountTmp ?? m.mountTmp ?? defaultSandbox.mountTmp,
      ...((o.hostLibraries ?? m.hostLibraries) === true ? { hostLibraries: true } : {}),
      ...((o.packageAlias ?? m.packageAlias) !== undefined ? { packageAlias: (o.packageAlias ?? m.packageAlias)! } : {}),
    },
  };
}

/** The traffic settings, present only when set: a function without them pays no check. */
function traffic(cors: CorsPolicy | undefined, rateLimit: RateLimit | undefined): Pick<EffectiveConfig, 'cors' | 'rateLimit'> {
  return { ...(cors ? { cors } : {}), ...(rateLimit ? { rateLimit } : {}) };
}
