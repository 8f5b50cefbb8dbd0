/**
 * Where `ferry login` keeps its API token: `<config dir>/credentials.json` (0600 in a 0700
 * directory), one entry per server URL. The config dir is FERRY_CONFIG_DIR, else
 * $XDG_CONFIG_HOME/ferry, else ~/.config/ferry.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface Credential {
  user: string;
  token: string;
  tokenId: string;
  expiresAt: string | null;
}

export function configDir(env: NodeJS.ProcessEnv): string {
  if (env.FERRY_CONFIG_DIR) return env.FERRY_CONFIG_DIR;
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, 'ferry');
  return join(env.HOME || homedir(), '.config', 'ferry');
}

function file(env: NodeJS.ProcessEnv): string {
  return join(configDir(env), 'credentials.json');
}

function readAll(env: NodeJS.ProcessEnv): Record<string, Credential> {
  try {
    const parsed = JSON.parse(readFileSync(file(env), 'utf8')) as unknown;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, Credential>) : {};
  } catch {
    return {};
  }
}

/** The stored credential for a server, unless it has expired. */
export function loadCredential(env: NodeJS.ProcessEnv, url: string): Credential | undefined {
  const c = readAll(env)[url];
  if (!c || typeof c.token !== 'string') return undefined;
  if (c.expiresAt && Date.parse(c.expiresAt) <= Date.now()) return undefined;
  return c;
}

/** Stores (or with `undefined`, forgets) the credential for a server; written atomically, 0600. */
export function saveCredential(env: NodeJS.ProcessEnv, url: string, cred: Credential | undefined): void {
  const dir = configDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const all = readAll(env);
  if (cred) all[url] = cred;
  else delete all[url];
  const target = file(env);
  const tmp = `${target}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(all, null, 2) + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, target);
}
