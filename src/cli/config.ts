/** Where the CLI finds the server and its token: flags, then environment, then the data dir. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { usageError } from './errors.js';
import { loadCredential } from './credentials.js';

export const defaultUrl = 'http://127.0.0.1:8080';

export interface Connection {
  url: string;
  token: string | undefined;
}

export interface GlobalFlags {
  url?: string | undefined;
  token?: string | undefined;
}

/**
 * `--url` > `FERRY_URL` > http://127.0.0.1:8080; `--token` > `FERRY_TOKEN` > the token
 * `ferry login` stored for that URL > `<FERRY_DATA_DIR or ./.ferry>/admin-token` (resolved from `cwd`). No token is not an error here:
 * the server answers 401 and the client adds a hint.
 */
export function resolveConnection(flags: GlobalFlags, env: NodeJS.ProcessEnv, cwd = process.cwd()): Connection {
  const raw = flags.url || env.FERRY_URL || defaultUrl;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw usageError(`'${raw}' is not a URL (set --url or FERRY_URL, e.g. ${defaultUrl})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw usageError(`'${raw}' is not an http(s) URL`);
  const base = url.href.replace(/\/+$/, '');
  const token = flags.token || env.FERRY_TOKEN || loadCredential(env, base)?.token || readAdminToken(env, cwd);
  return { url: base, token };
}

export function adminTokenPath(env: NodeJS.ProcessEnv, cwd = process.cwd()): string {
  return join(resolve(cwd, env.FERRY_DATA_DIR || './.ferry'), 'admin-token');
}

function readAdminToken(env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  try {
    const t = readFileSync(adminTokenPath(env, cwd), 'utf8').trim();
    return t || undefined;
  } catch {
    return undefined;
  }
}
