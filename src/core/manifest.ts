/**
 * The `ferry.json` manifest: the one schema for a version's configuration. Uploads, PATCH
 * overrides and the OpenAPI document all use `manifestSchema`.
 */
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
}

export interface Limits {
  /** Time to response headers of a synchronous call. */
  timeoutMs: number;
  memoryMb: number;
}

export interface Manifest {
  runtime: RuntimeName;
  handler?: string;
  command?: string[];
  env?: Record<string, string>;
  scaling?: Partial<Scaling>;
  limits?: Partial<Limits>;
  invoke?: 'public' | 'token';
}

/** What PATCH may override: everything but the runtime and the code entry point. */
export type ConfigOverride = Omit<Manifest, 'runtime' | 'handler' | 'command'>;

/** A version's configuration with every default filled in. */
export interface EffectiveConfig {
  runtime: RuntimeName;
  handler: string | undefined;
  command: string[] | undefined;
  env: Record<string, string>;
  scaling: Scaling;
  limits: Limits;
  invoke: 'public' | 'token';
}

export const defaultScaling: Scaling = {
  concurrency: 16,
  minInstances: 0,
  maxInstances: 4,
  idleTimeoutMs: 300_000,
  maxQueue: 100,
};

export const defaultLimits: Limits = { timeoutMs: 30_000, memoryMb: 256 };

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
  },
} as const;

const limitsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    timeoutMs: { type: 'integer', minimum: 1, maximum: 3_600_000 },
    memoryMb: { type: 'integer', minimum: 16, maximum: 65_536 },
  },
} as const;

const envSchema = {
  type: 'object',
  propertyNames: { pattern: envNamePattern },
  additionalProperties: { type: 'string' },
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
    env: envSchema,
    scaling: scalingSchema,
    limits: limitsSchema,
    invoke: { enum: ['public', 'token'] },
  },
} as const;

/** JSON Schema of a PATCH body on a version. */
export const overrideSchema = {
  $id: 'https://ferry.dev/schemas/override.json',
  type: 'object',
  additionalProperties: false,
  properties: {
    env: envSchema,
    scaling: scalingSchema,
    limits: limitsSchema,
    invoke: manifestSchema.properties.invoke,
  },
} as const;
