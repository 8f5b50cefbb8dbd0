import type { AliasRecord, FunctionRecord, LogLine, TokenRecord, VersionRecord } from './records.js';
import type { ConfigOverride } from './manifest.js';

/**
 * Metadata store. Async so that the embedded SQLite store and the NATS JetStream store share it;
 * the hot path never calls it (the catalog caches what routing needs).
 */
export interface Store {
  readonly kind: string;

  listFunctions(): Promise<FunctionRecord[]>;
  getFunction(name: string): Promise<FunctionRecord | undefined>;
  /** Creates the function if missing; answers the stored record. */
  ensureFunction(rec: FunctionRecord): Promise<FunctionRecord>;
  /** Deletes the function with all its versions and aliases; answers the package shas it used. */
  deleteFunction(name: string): Promise<string[]>;

  listVersions(fn: string): Promise<VersionRecord[]>;
  getVersion(fn: string, version: string): Promise<VersionRecord | undefined>;
  /** Highest `seq` of the function's versions so far (0 when none); never reused after deletes. */
  lastVersionSeq(fn: string): Promise<number>;
  /** Inserts a version; throws FerryError `version-exists` if it is already there. */
  createVersion(rec: VersionRecord): Promise<void>;
  setVersionOverride(fn: string, version: string, override: ConfigOverride, updatedAt: number): Promise<void>;
  deleteVersion(fn: string, version: string): Promise<void>;
  /** Whether any version of any function still uses this package. */
  packageInUse(sha: string): Promise<boolean>;

  listAliases(fn: string): Promise<AliasRecord[]>;
  putAlias(rec: AliasRecord): Promise<void>;
  deleteAlias(fn: string, alias: string): Promise<boolean>;

  createToken(rec: TokenRecord): Promise<void>;
  findTokenByHash(hash: string): Promise<TokenRecord | undefined>;
  countTokens(): Promise<number>;

  appendLogs(lines: LogLine[]): Promise<void>;
  queryLogs(fn: string, opts: { afterId?: number; limit: number; version?: string }): Promise<Array<LogLine & { id: number }>>;
  pruneLogs(opts: { maxAgeMs: number; maxLinesPerFunction: number; now: number }): Promise<void>;

  close(): Promise<void>;
}

/** Content-addressed package trees: a built package lives under its sha256, once. */
export interface PackageStore {
  /** Moves a staged, built tree into the store under its content hash (dedupes). */
  commit(stagingDir: string): Promise<{ sha: string; size: number; dir: string }>;
  /** Host path of a stored package. */
  path(sha: string): string;
  remove(sha: string): Promise<void>;
  /** A fresh staging directory on the same filesystem. */
  stage(): Promise<string>;
  discard(stagingDir: string): Promise<void>;
}
