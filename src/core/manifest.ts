/**
 * The `ferry.json` manifest: the one schema for a version's configuration. Uploads, PATCH
 * overrides and the OpenAPI document all use `manifestSchema`.
 */
import { manifestImageSchema, type ManifestImage } from './image.js';
import { corsSchema, type CorsPolicy } from './cors.js';
export type RuntimeName = 'node' | 'python' | 'exec' | 'http';
export const runtimeNames: readonly RuntimeName[] = ['node', 'python', 'exec', 'http'];

export interface Scaling {
  /** Requests one instance serves at once. */
  concurrency: number;
  /** Instances kept running with no traffic (0 = scale to zero). */
  minInstances: number;
  maxInstances: number;
  /** An instance with nothing in flight for this long is stopped. */
  idleTimeoutMs: number;
  /** Requests allowed to wait for a free instance before 503. */
  maxQueue: number;
  /**
   * `cold`: a fresh instance per call, stopped once it has answered (one call each, none kept),
   * so nothing a call leaves behind reaches the next. Absent: instances are reused. ShortedFaaS's
   * other names: `warm` (the defaults: kept for `idleTimeoutMs`), `hot` (`minInstances` at least
   * 1), `scalable` (`minInstances` 1 unless set, up to `maxInstances`).
   */
  mode?: ScalingMode;
  /**
   * false: no instance starts on a request; only `minInstances` (and an explicit start) run, and a
   * call with none running answers `503 not-running` (a YFASS service runs from deploy to kill).
   */
  onDemand?: boolean;
}

export type ScalingMode = 'cold' | 'warm' | 'hot' | 'scalable';

export interface Limits {
  /** Time to response headers of a synchronous call. */
  timeoutMs: number;
  memoryMb: number;
  /** CPU time as a fraction of one core (0.5 = half a core). */
  cpu: number;
  /** Most processes and threads the instance may have at once. */
  pids: number;
  /** Size of the instance's private /tmp. */
  tmpMb: number;
}

/** Network policy of an instance. */
export type NetworkPolicy = 'none' | 'egress' | 'host';

/** Per-function seccomp list, on top of the default deny list (which always applies). */
export interface SeccompPolicy {
  /** deny: these are refused too; allow: only these (plus what the runtime needs) are allowed. */
  mode: 'deny' | 'allow';
  syscalls: string[];
  /** What a refused call does: fail with EPERM (default) or kill the instance. */
  action?: 'errno' | 'kill';
}

/**
 * The isolation tiers a version may ask for (`tier` in ferry.json): each a sandbox driver of the
 * same contract, stronger to the right. Which exist on a server is the operator's choice.
 */
export const sandboxTiers = ['bwrap', 'gvisor', 'microvm'] as const;
export type SandboxTier = (typeof sandboxTiers)[number];

/** The sandbox settings of a version (YFASS's per-service sandbox config). */
export interface SandboxSettings {
  /** The isolation tier (absent: the server's default tier). */
  tier?: SandboxTier;
  network: NetworkPolicy;
  seccomp?: SeccompPolicy;
  /** Extra read-only binds, host path -> sandbox path (admin only; sources under --bindable). */
  roBinds: Record<string, string>;
  mountProc: boolean;
  mountDev: boolean;
  mountTmp: boolean;
  /** The host's language libraries after the function's own (site/dist-packages, global node modules); admin only natively. */
  hostLibraries?: boolean;
  /** A second read-only mount point of the package (YFASS's `/.__private_yfass_contents`); admin only natively. */
  packageAlias?: string;
}

export interface Manifest {
  runtime: RuntimeName;
  handler?: string;
  command?: string[];
  /** `http`: the fixed port the server listens on in its own network namespace (default: PORT, a free one). */
  port?: number;
  env?: Record<string, string>;
  /** Names of secrets the instance gets as environment variables (owned by the function's group). */
  secrets?: string[];
  scaling?: Partial<Scaling>;
  limits?: Partial<Limits>;
  invoke?: 'public' | 'token';
  /** Asynchronous executions: time limit of one run, retries after a failed run, most runs at once (0: no limit of its own). */
  asyncTimeoutMs?: number;
  retries?: number;
  maxConcurrentExecutions?: number;
  /** Keep request and response bodies in the invocation history (off by default). */
  recordPayloads?: boolean;
  /** `verbose`: every caller sees what the function threw; `private` (default): only its readers. */
  errors?: 'private' | 'verbose';
  /** Keep the credential headers of asynchronous requests in their records (off by default). */
  recordCredentials?: boolean;
  /** The isolation tier (`sandbox.tier` of the effective configuration). */
  tier?: SandboxTier;
  network?: NetworkPolicy;
  seccomp?: SeccompPolicy;
  roBinds?: Record<string, string>;
  mountProc?: boolean;
  mountDev?: boolean;
  mountTmp?: boolean;
  hostLibraries?: boolean;
  packageAlias?: string;
  /** Free-form facts about the version for tools (e.g. `tinyfaas.name`); Ferry does not act on them. */
  labels?: Record<string, string>;
  /** A container image version (`exec` or `http`): its root file system is the package. */
  image?: ManifestImage;
  /** Cross-origin calls from browsers: answered by the gateway (preflights never reach the function). */
  cors?: CorsPolicy;
  /** A token bucket in front of the function: 429 `rate-limited` past it. */
  rateLimit?: RateLimit;
  /** `exec` (and exec images): another system's function contract the shim speaks (`seed003`: docs/compat/seed-003.md). */
  contract?: ExecContract;
}

/** Function contracts the exec shim speaks besides its own (CGI-style). */
export const execContracts = ['seed003'] as const;
export type ExecContract = (typeof execContracts)[number];

/** What PATCH may override: everything but the runtime, the code entry point and the labels. */
export type ConfigOverride = Omit<Manifest, 'runtime' | 'handler' | 'command' | 'port' | 'labels' | 'image' | 'contract'>;

/** A version's configuration with every default filled in. */
export interface EffectiveConfig {
  runtime: RuntimeName;
  /** Absent, never undefined, where unset: the configuration stays the same through JSON. */
  handler?: string;
  command?: string[];
  /** `http`: the manifest's fixed `port`, if any. */
  port?: number;
  env: Record<string, string>;
  secrets: string[];
  scaling: Scaling;
  limits: Limits;
  invoke: 'public' | 'token';
  asyncTimeoutMs: number;
  retries: number;
  maxConcurrentExecutions: number;
  recordPayloads: boolean;
  errors: 'private' | 'verbose';
  recordCredentials: boolean;
  sandbox: SandboxSettings;
  /** An image version: the image and the manifest's overrides of its run settings. */
  image?: ManifestImage;
  /** `cors` and `rateLimit`, absent when neither manifest nor override sets them. */
  cors?: CorsPolicy;
  rateLimit?: RateLimit;
  /** The manifest's `contract`, absent for the exec shim's own. */
  contract?: ExecContract;
}

/**
 * Calls one instance serves at once when the manifest does not say. A node, python or http
 * instance serves calls concurrently in one process (an event loop, a thread pool), and on one
 * box more instances than cores only split the same CPU: measured on one core with 50 callers, a
 * node function served 2.5x the calls as one instance of 100 than as four of 16 (python 3x).
 * Knative's default target is 100 and Cloud Run's 80. An exec instance runs a process per call.
 */
export function defaultConcurrency(runtime: RuntimeName): number {
  return runtime === 'exec' ? 16 : 100;
}

/** The scaling defaults; `concurrency` is node's (see `defaultConcurrency`). */
export const defaultScaling: Scaling = {
  concurrency: 100,
  minInstances: 0,
  maxInstances: 4,
  idleTimeoutMs: 300_000,
  maxQueue: 100,
};

/** Defaults of the asynchronous-execution keys: five minutes a run, two retries, no cap of its own. */
export const defaultExecutionSettings = { asyncTimeoutMs: 300_000, retries: 2, maxConcurrentExecutions: 0 } as const;

const executionProperties = {
  asyncTimeoutMs: { type: 'integer', minimum: 1, maximum: 86_400_000 },
  retries: { type: 'integer', minimum: 0, maximum: 20 },
  maxConcurrentExecutions: { type: 'integer', minimum: 0, maximum: 100_000 },
  recordPayloads: { type: 'boolean' },
} as const;

/** Defaults of what a function's callers are shown and what their records keep: the least. */
export const defaultPrivacySettings = { errors: 'private', recordCredentials: false } as const;

const privacyProperties = {
  errors: { enum: ['private', 'verbose'] },
  recordCredentials: { type: 'boolean' },
} as const;

/**
 * A function's rate limit: a token bucket of `burst` calls refilled at `requestsPerSecond`, one
 * for the whole function, or one per client address or per caller's token (a call that was not
 * authorized with a token counts by its address). In memory per node.
 */
export interface RateLimit {
  requestsPerSecond: number;
  /** Calls at once past a full bucket. Default: `requestsPerSecond` rounded up (at least 1). */
  burst?: number;
  /** Default: `address`. */
  per?: 'function' | 'address' | 'token';
}

const trafficProperties = {
  cors: corsSchema,
  rateLimit: {
    type: 'object',
    additionalProperties: false,
    required: ['requestsPerSecond'],
    properties: {
      requestsPerSecond: { type: 'number', exclusiveMinimum: 0, maximum: 1_000_000 },
      burst: { type: 'integer', minimum: 1, maximum: 1_000_000 },
      per: { enum: ['function', 'address', 'token'] },
    },
  },
} as const;

export const defaultLimits: Limits = { timeoutMs: 30_000, memoryMb: 256, cpu: 1, pids: 256, tmpMb: 64 };

export const defaultSandbox: SandboxSettings = {
  network: 'egress',
  seccomp: undefined,
  roBinds: {},
  mountProc: true,
  mountDev: true,
  mountTmp: true,
};

const envNamePattern = '^[A-Za-z_][A-Za-z0-9_]*$';

const scalingSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    concurrency: { type: 'integer', minimum: 1, maximum: 10_000 },
    minInstances: { type: 'integer', minimum: 0, maximum: 1000 },
    maxInstances: { type: 'integer', minimum: 1, maximum: 1000 },
    idleTimeoutMs: { type: 'integer', minimum: 100, maximum: 86_400_000 },
    maxQueue: { type: 'integer', minimum: 0, maximum: 100_000 },
    mode: { enum: ['cold', 'warm', 'hot', 'scalable'] },
    onDemand: { type: 'boolean' },
  },
} as const;

const limitsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    timeoutMs: { type: 'integer', minimum: 1, maximum: 3_600_000 },
    memoryMb: { type: 'integer', minimum: 16, maximum: 65_536 },
    cpu: { type: 'number', exclusiveMinimum: 0, maximum: 256 },
    pids: { type: 'integer', minimum: 1, maximum: 65_536 },
    tmpMb: { type: 'integer', minimum: 1, maximum: 65_536 },
  },
} as const;

const syscallName = { type: 'string', pattern: '^[a-z_][a-z0-9_]{0,63}$' } as const;

const sandboxProperties = {
  tier: { enum: [...sandboxTiers] },
  network: { enum: ['none', 'egress', 'host'] },
  seccomp: {
    type: 'object',
    additionalProperties: false,
    required: ['mode', 'syscalls'],
    properties: {
      mode: { enum: ['deny', 'allow'] },
      syscalls: { type: 'array', maxItems: 512, items: syscallName },
      action: { enum: ['errno', 'kill'] },
    },
  },
  roBinds: {
    type: 'object',
    maxProperties: 64,
    propertyNames: { pattern: '^/', maxLength: 1024 },
    additionalProperties: { type: 'string', pattern: '^/', maxLength: 1024 },
  },
  mountProc: { type: 'boolean' },
  mountDev: { type: 'boolean' },
  mountTmp: { type: 'boolean' },
  hostLibraries: { type: 'boolean' },
  // A hidden directory at the root: it cannot shadow a system path or the sandbox's own mounts.
  packageAlias: { type: 'string', pattern: '^/\\.[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$' },
} as const;

/** Secret names are environment variable names (upper case by convention, not by rule). */
export const secretNamePattern = '^[A-Za-z_][A-Za-z0-9_]{0,127}$';

const secretsSchema = { type: 'array', maxItems: 100, uniqueItems: true, items: { type: 'string', pattern: secretNamePattern } } as const;

const envSchema = {
  type: 'object',
  propertyNames: { pattern: envNamePattern },
  additionalProperties: { type: 'string' },
} as const;

/** Labels: short keys (`tinyfaas.name`) to short strings, as OpenFaaS labels are. */
const labelsSchema = {
  type: 'object',
  maxProperties: 64,
  propertyNames: { pattern: '^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$' },
  additionalProperties: { type: 'string', maxLength: 1024 },
} as const;

/** JSON Schema (2020-12) of `ferry.json`. */
export const manifestSchema = {
  $id: 'https://ferry.dev/schemas/manifest.json',
  type: 'object',
  additionalProperties: false,
  required: ['runtime'],
  properties: {
    runtime: { enum: [...runtimeNames] },
    handler: { type: 'string', minLength: 1, maxLength: 512 },
    command: { type: 'array', minItems: 1, maxItems: 256, items: { type: 'string', minLength: 1 } },
    port: { type: 'integer', minimum: 1, maximum: 65_535 },
    env: envSchema,
    secrets: secretsSchema,
    scaling: scalingSchema,
    limits: limitsSchema,
    invoke: { enum: ['public', 'token'] },
    ...executionProperties,
    ...privacyProperties,
    ...sandboxProperties,
    ...trafficProperties,
    labels: labelsSchema,
    image: manifestImageSchema,
    contract: { enum: [...execContracts] },
  },
} as const;

/** JSON Schema of a PATCH body on a version. */
export const overrideSchema = {
  $id: 'https://ferry.dev/schemas/override.json',
  type: 'object',
  additionalProperties: false,
  properties: {
    env: envSchema,
    secrets: secretsSchema,
    scaling: scalingSchema,
    limits: limitsSchema,
    invoke: manifestSchema.properties.invoke,
    ...executionProperties,
    ...privacyProperties,
    ...sandboxProperties,
    ...trafficProperties,
  },
} as const;
