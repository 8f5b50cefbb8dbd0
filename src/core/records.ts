import type { ConfigOverride, Manifest } from './manifest.js';

/** A function: a name that owns versions and aliases. */
export interface FunctionRecord {
  name: string;
  createdAt: number;
  /** Owning group; the tenancy layer fills it in (`singular:<user>`). */
  owner: string;
}

/** An immutable version: a content-addressed package plus its configuration. */
export interface VersionRecord {
  function: string;
  version: string;
  /** Ordinal of the version within the function; `latest` is the highest. */
  seq: number;
  /** sha256 of the built package tree. */
  packageSha: string;
  packageSize: number;
  manifest: Manifest;
  /** Configuration set by PATCH; merged over the manifest. */
  override: ConfigOverride;
  buildLog: string;
  createdAt: number;
  updatedAt: number;
  /** Only in the answer to its creation, never stored: what its build warned of (type errors). */
  warnings?: string[];
}

/** An alias points at one version, or splits traffic by weight between several. */
export type AliasTarget = { version: string } | { weights: Record<string, number> };

export interface AliasRecord {
  function: string;
  alias: string;
  target: AliasTarget;
  updatedAt: number;
}

/** What a stored token is for. Access tokens are signed JWTs and never stored. */
export type TokenKind = 'api' | 'refresh' | 'invite';

/** A stored token (API, refresh or invite); only its sha256 is kept. */
export interface TokenRecord {
  id: string;
  kind: TokenKind;
  hash: string;
  /** First characters of the token, to recognise it in listings. */
  prefix: string;
  /** The user it acts for (invites: the admin who made it). */
  subject: string;
  /** Groups of a token whose subject is not a user (the boot admin's before users existed). */
  groups: string[];
  /** Free label given at creation. */
  label: string;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
}

/** A user: a name, a password hash and the groups that decide what the user may do. */
export interface UserRecord {
  name: string;
  /** scrypt hash (`scrypt$N$r$p$salt$key`); null for users that cannot log in with a password. */
  passwordHash: string | null;
  /** `permission:*`, `custom:*` and `root`; `singular:<name>` is implicit and not stored. */
  groups: string[];
  createdAt: number;
  updatedAt: number;
}

/** A secret: a value encrypted at rest, owned by a group. */
export interface SecretRecord {
  /** Owning group: `singular:<user>` or `custom:<name>`. */
  owner: string;
  /** Also the environment variable it becomes in an instance. */
  name: string;
  /** AES-256-GCM: 12-byte iv, 16-byte tag, ciphertext. Never the clear value. */
  sealed: Buffer;
  /** Id of the key of the `secrets-aes256` key set it is sealed with; absent: the set's first key (sealed before key ids). */
  keyId?: string;
  createdAt: number;
  updatedAt: number;
}

/** One invocation in the history: what was called, how it ended, and (opt-in) the payloads. */
export interface InvocationRecord {
  id: string;
  time: number;
  function: string;
  version: string;
  kind: 'sync' | 'async';
  status: number;
  durationMs: number;
  requestId: string;
  executionId: string | null;
  method: string;
  path: string;
  /** Only when the version has `recordPayloads`; cut at the history's payload cap. */
  requestBody: Buffer | null;
  responseBody: Buffer | null;
  truncated: boolean;
}

/** A cron schedule that creates executions of a function. */
export interface ScheduleRecord {
  function: string;
  id: string;
  cron: string;
  /** IANA zone the cron expression is read in; null: UTC. */
  timezone: string | null;
  body: Buffer;
  contentType: string;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  lastRun: number | null;
  nextRun: number | null;
}

/** Failed-attempt counter behind login throttling. */
export interface ThrottleRecord {
  key: string;
  failures: number;
  firstAt: number;
  blockedUntil: number;
}

/** One line a function instance wrote. */
export interface LogLine {
  time: number;
  function: string;
  version: string;
  instance: string;
  stream: 'stdout' | 'stderr' | 'system';
  requestId: string | null;
  line: string;
  /** The node whose instance wrote it (in a cluster; the embedded store keeps none). */
  node?: string;
}
