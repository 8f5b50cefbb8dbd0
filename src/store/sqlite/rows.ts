/**
 * Row shapes of the SQLite tables and their mapping to the core records. JSON columns hold the
 * records' nested members verbatim, so a record reads back deep-equal to what was written
 * (members set to `undefined` are dropped, as JSON does).
 */
import type { AliasRecord, AliasTarget, FunctionRecord, LogLine, VersionRecord } from '../../core/records.js';
import type { ConfigOverride, Manifest } from '../../core/manifest.js';
import { FerryError } from '../../errors/index.js';

export interface FunctionRow {
  name: string;
  owner: string;
  created_at: number;
}

export interface VersionRow {
  function: string;
  version: string;
  seq: number;
  package_sha: string;
  package_size: number;
  manifest: string;
  override: string;
  build_log: string;
  created_at: number;
  updated_at: number;
}

export interface AliasRow {
  function: string;
  alias: string;
  target: string;
  updated_at: number;
}

export interface LogRow {
  id: number;
  time: number;
  function: string;
  version: string;
  instance: string;
  stream: LogLine['stream'];
  request_id: string | null;
  line: string;
}

/** Parses a JSON column; a corrupt value is a store fault, reported with where it sits. */
export function parseJson<T>(text: string, where: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    // Wrapped here: FerryError.from would map the bare SyntaxError to the client's 'malformed-json'.
    throw new FerryError('internal', `corrupt JSON in the store at ${where}`, { cause: err });
  }
}

export function functionFromRow(r: FunctionRow): FunctionRecord {
  return { name: r.name, createdAt: r.created_at, owner: r.owner };
}

export function functionToRow(f: FunctionRecord): FunctionRow {
  return { name: f.name, owner: f.owner, created_at: f.createdAt };
}

export function versionFromRow(r: VersionRow): VersionRecord {
  const where = `versions(${r.function}, ${r.version})`;
  return {
    function: r.function,
    version: r.version,
    seq: r.seq,
    packageSha: r.package_sha,
    packageSize: r.package_size,
    manifest: parseJson<Manifest>(r.manifest, `${where}.manifest`),
    override: parseJson<ConfigOverride>(r.override, `${where}.override`),
    buildLog: r.build_log,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function versionToRow(v: VersionRecord): VersionRow {
  return {
    function: v.function,
    version: v.version,
    seq: v.seq,
    package_sha: v.packageSha,
    package_size: v.packageSize,
    manifest: JSON.stringify(v.manifest),
    override: JSON.stringify(v.override),
    build_log: v.buildLog,
    created_at: v.createdAt,
    updated_at: v.updatedAt,
  };
}

export function aliasFromRow(r: AliasRow): AliasRecord {
  return {
    function: r.function,
    alias: r.alias,
    target: parseJson<AliasTarget>(r.target, `aliases(${r.function}, ${r.alias}).target`),
    updatedAt: r.updated_at,
  };
}

export function aliasToRow(a: AliasRecord): AliasRow {
  return { function: a.function, alias: a.alias, target: JSON.stringify(a.target), updated_at: a.updatedAt };
}

export function logFromRow(r: LogRow): LogLine & { id: number } {
  return {
    id: r.id,
    time: r.time,
    function: r.function,
    version: r.version,
    instance: r.instance,
    stream: r.stream,
    requestId: r.request_id,
    line: r.line,
  };
}

export function logToRow(l: LogLine): Omit<LogRow, 'id'> {
  return {
    time: l.time,
    function: l.function,
    version: l.version,
    instance: l.instance,
    stream: l.stream,
    // `?? null`: a caller outside strict typing may leave it undefined, which SQLite cannot bind.
    request_id: l.requestId ?? null,
    line: l.line,
  };
}
