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
}

/** An alias points at one version, or splits traffic by weight between several. */
export type AliasTarget = { version: string } | { weights: Record<string, number> };

export interface AliasRecord {
  function: string;
  alias: string;
  target: AliasTarget;
  updatedAt: number;
}

/** A stored API token; only its sha256 is kept. */
export interface TokenRecord {
  id: string;
  hash: string;
  /** First characters of the token, to recognise it in listings. */
  prefix: string;
  subject: string;
  groups: string[];
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
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
}
