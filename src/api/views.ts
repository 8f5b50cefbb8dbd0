import { effectiveConfig, type AliasRecord, type FunctionRecord, type VersionRecord } from '../core/index.js';

/** The API's view of a version: the record, its effective configuration and its URL. */
export function versionView(v: VersionRecord, baseUrl: string, sandbox?: string) {
  return {
    function: v.function,
    version: v.version,
    // The sandbox tier it runs in (`x-ferry-sandbox` of its answers).
    ...(sandbox !== undefined && { sandbox }),
    seq: v.seq,
    packageSha: v.packageSha,
    packageSize: v.packageSize,
    manifest: v.manifest,
    override: v.override,
    config: effectiveConfig(v),
    createdAt: new Date(v.createdAt).toISOString(),
    updatedAt: new Date(v.updatedAt).toISOString(),
    url: `${baseUrl}/fn/${v.function}@${v.version}`,
    ...(v.warnings && { warnings: v.warnings }),
  };
}

export function aliasView(a: AliasRecord, baseUrl: string) {
  return { function: a.function, alias: a.alias, target: a.target, updatedAt: new Date(a.updatedAt).toISOString(), url: `${baseUrl}/fn/${a.function}@${a.alias}` };
}

export function functionView(f: FunctionRecord, versions: VersionRecord[], aliases: AliasRecord[], baseUrl: string) {
  const latest = versions.reduce<VersionRecord | undefined>((b, v) => (!b || v.seq > b.seq ? v : b), undefined);
  return {
    name: f.name,
    owner: f.owner,
    createdAt: new Date(f.createdAt).toISOString(),
    latest: latest?.version ?? null,
    versions: versions.length,
    aliases: aliases.map((a) => a.alias),
    url: `${baseUrl}/fn/${f.name}`,
  };
}
