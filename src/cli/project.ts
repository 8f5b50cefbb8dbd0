/**
 * The project file `ferry up` deploys: several functions, each a folder with its configuration,
 * the secrets it references and its aliases. Ferry's own format is `ferry.project.json`; an
 * OpenFaaS stack file is read where its keys map (see docs/cli.md).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { checkName } from './args.js';
import { CliError } from './errors.js';

/** An alias target in a project: a version name, `latest` (what this run deployed), or weights. */
export type ProjectAlias = string | { weights: Record<string, number> };

export interface ProjectFunction {
  name: string;
  /** The function folder, absolute. */
  dir: string;
  /** Owning group of a new function. */
  group?: string;
  /** Keys of ferry.json laid over the folder's own (env, scaling, limits, sandbox settings, ...). */
  config: Record<string, unknown>;
  /** Names of secrets the function gets as environment variables. */
  secrets: string[];
  aliases: Record<string, ProjectAlias>;
}

/** The files `ferry up` looks for, in this order, when none is named. */
export const projectFiles = ['ferry.project.json', 'stack.yml', 'stack.yaml', 'stack.json'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(file: string, what: string): CliError {
  return new CliError(`${file}: ${what}`, { code: 'invalid-project' });
}

/** The project file to use: the one named, else the first of `projectFiles` in `cwd`. */
export function findProjectFile(given: string | undefined, cwd: string): string {
  if (given !== undefined) return resolve(cwd, given);
  const found = projectFiles.map((f) => resolve(cwd, f)).find((f) => existsSync(f));
  if (!found) throw new CliError(`no project file here: write ferry.project.json (or name one: ferry up -f FILE)`);
  return found;
}

/** Reads and checks a project file (Ferry's format, or an OpenFaaS stack file in YAML or JSON). */
export async function readProject(file: string): Promise<ProjectFunction[]> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let doc: unknown;
  if (/\.ya?ml$/i.test(file)) {
    // Loaded here only: no other command reads YAML.
    const { parse } = await import('yaml');
    try {
      doc = parse(text);
    } catch (err) {
      throw bad(file, `not valid YAML: ${err instanceof Error ? err.message.replace(/\s*\n[\s\S]*$/, '') : String(err)}`);
    }
  } else {
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw bad(file, `not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (!isObject(doc) || !isObject(doc.functions)) throw bad(file, 'expected {"functions": {"<name>": {...}}}');
  const base = dirname(file);
  const isStack = 'provider' in doc || Object.values(doc.functions).some((f) => isObject(f) && ('lang' in f || 'handler' in f));
  return Object.entries(doc.functions).map(([name, raw]) => {
    if (!isObject(raw)) throw bad(file, `functions.${name} must be an object`);
    try {
      checkName('function', name);
    } catch (err) {
      throw bad(file, err instanceof Error ? err.message : String(err));
    }
    return isStack ? fromStack(file, base, name, raw) : fromProject(file, base, name, raw);
  });
}

const projectKeys = ['path', 'group', 'config', 'secrets', 'aliases'];

function fromProject(file: string, base: string, name: string, f: Record<string, unknown>): ProjectFunction {
  const unknown = Object.keys(f).filter((k) => !projectKeys.includes(k));
  if (unknown.length) throw bad(file, `functions.${name}: unknown key ${unknown.join(', ')} (expected ${projectKeys.join(', ')})`);
  if (f.path !== undefined && typeof f.path !== 'string') throw bad(file, `functions.${name}.path must be a folder path`);
  if (f.group !== undefined && typeof f.group !== 'string') throw bad(file, `functions.${name}.group must be singular:<user> or custom:<name>`);
  if (f.config !== undefined && !isObject(f.config)) throw bad(file, `functions.${name}.config must be an object of ferry.json keys`);
  if (f.secrets !== undefined && !(Array.isArray(f.secrets) && f.secrets.every((s) => typeof s === 'string'))) throw bad(file, `functions.${name}.secrets must be a list of secret names`);
  const aliases = f.aliases ?? {};
  if (!isObject(aliases)) throw bad(file, `functions.${name}.aliases must map alias names to a version, "latest" or {"weights": {...}}`);
  for (const [alias, target] of Object.entries(aliases)) {
    const ok = typeof target === 'string' || (isObject(target) && isObject(target.weights) && Object.values(target.weights).every((w) => Number.isInteger(w) && (w as number) >= 0));
    if (!ok) throw bad(file, `functions.${name}.aliases.${alias}: a version, "latest" or {"weights": {"v1": 90, "latest": 10}}`);
  }
  return {
    name,
    dir: resolve(base, (f.path as string | undefined) ?? name),
    ...(typeof f.group === 'string' ? { group: f.group } : {}),
    config: (f.config as Record<string, unknown> | undefined) ?? {},
    secrets: (f.secrets as string[] | undefined) ?? [],
    aliases: aliases as Record<string, ProjectAlias>,
  };
}

/** OpenFaaS `lang` templates to Ferry runtimes. */
function runtimeOf(lang: string): string | undefined {
  return /^node/.test(lang) ? 'node' : /^python/.test(lang) ? 'python' : undefined;
}

/** `128Mi`, `1Gi`, `256M` -> MiB. */
function memoryMb(v: unknown): number | undefined {
  const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)\s*(Ki|Mi|Gi|K|M|G)?$/.exec(v.trim()) : null;
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? 'Mi';
  const mb = unit.startsWith('G') ? n * 1024 : unit.startsWith('K') ? n / 1024 : n;
  return Math.max(1, Math.round(mb));
}

/**
 * An OpenFaaS stack function: `handler` is the folder, `environment` the env, `secrets` the
 * secret names, `limits.memory` and `limits.cpu` the limits, `com.openfaas.scale.min|max` labels
 * the scaling, other labels stay labels. `lang` gives the runtime when the folder has no ferry.json.
 */
function fromStack(file: string, base: string, name: string, f: Record<string, unknown>): ProjectFunction {
  if (typeof f.handler !== 'string') throw bad(file, `functions.${name}.handler: the function's folder (an image-only function has none; deploy it with ferry deploy --image)`);
  const config: Record<string, unknown> = {};
  if (typeof f.lang === 'string' && !existsSync(resolve(base, f.handler, 'ferry.json'))) {
    const runtime = runtimeOf(f.lang);
    if (!runtime) throw bad(file, `functions.${name}: lang '${f.lang}' has no Ferry runtime; add a ferry.json to ${f.handler}`);
    config.runtime = runtime;
  }
  if (isObject(f.environment)) config.env = Object.fromEntries(Object.entries(f.environment).map(([k, v]) => [k, String(v)]));
  const limits: Record<string, number> = {};
  const lim = isObject(f.limits) ? f.limits : {};
  const mem = memoryMb(lim.memory);
  if (mem !== undefined) limits.memoryMb = mem;
  if (typeof lim.cpu === 'string' && /^\d+m$/.test(lim.cpu)) limits.cpu = Number(lim.cpu.slice(0, -1)) / 1000;
  else if (typeof lim.cpu === 'string' && Number(lim.cpu) > 0) limits.cpu = Number(lim.cpu);
  if (Object.keys(limits).length) config.limits = limits;
  const labels = isObject(f.labels) ? Object.fromEntries(Object.entries(f.labels).map(([k, v]) => [k, String(v)])) : {};
  const scaling: Record<string, number> = {};
  if (labels['com.openfaas.scale.min'] !== undefined) scaling.minInstances = Number(labels['com.openfaas.scale.min']);
  if (labels['com.openfaas.scale.max'] !== undefined) scaling.maxInstances = Number(labels['com.openfaas.scale.max']);
  if (Object.keys(scaling).length) config.scaling = scaling;
  const rest = Object.fromEntries(Object.entries(labels).filter(([k]) => !k.startsWith('com.openfaas.scale.')));
  if (Object.keys(rest).length) config.labels = rest;
  const secrets = Array.isArray(f.secrets) ? f.secrets.map(String) : [];
  return { name, dir: resolve(base, f.handler), config, secrets, aliases: {} };
}
