/** Packs a function folder into a tar.gz the server accepts. */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Ignore } from 'ignore';

/** Paths left out of every package: VCS data and tool caches. */
export function excluded(path: string): boolean {
  const parts = path.replace(/\\/g, '/').split('/').filter((p) => p !== '' && p !== '.');
  for (let i = 0; i < parts.length; i++) {
    if (parts[i] === '.git') return true;
    if (parts[i] === 'node_modules' && parts[i + 1] === '.cache') return true;
  }
  return false;
}

/** The file of a folder that names what `ferry deploy` leaves out (gitignore syntax). */
export const ignoreFile = '.ferryignore';

/** The folder's `.ferryignore` rules (none when it has no such file). */
export async function ignoreRules(dir: string): Promise<Ignore> {
  // Loaded here, not with the CLI: `ferry server` runs this program too and never packs.
  const { default: ignore } = await import('ignore');
  const rules = ignore();
  const file = join(dir, ignoreFile);
  if (existsSync(file)) rules.add(readFileSync(file, 'utf8'));
  return rules;
}

/**
 * File names that usually hold credentials: a package is stored unencrypted, unlike a secret, so
 * such a file is worth a second look before it is uploaded.
 */
const credentialNames = [/^\.env(\..+)?$/, /\.(pem|key|p12|pfx|jks|keystore)$/, /^id_(rsa|dsa|ecdsa|ed25519)(\.pub)?$/, /^\.(npmrc|netrc|pypirc|git-credentials|htpasswd)$/, /^credentials(\.json)?$/, /^service-account.*\.json$/];
const notCredentials = /^\.env\.(example|sample|template|dist)$|\.pub$/;

/** Whether a file's name says it probably holds credentials (`.env`, private keys, token files). */
export function looksLikeCredentials(path: string): boolean {
  const name = path.replace(/\\/g, '/').split('/').pop() ?? '';
  return !notCredentials.test(name) && credentialNames.some((r) => r.test(name));
}

/** What `pack` put in the archive. */
export interface Packed {
  size: number;
  /** Files whose names look like credentials, packed nonetheless (relative paths). */
  credentialFiles: string[];
}

/**
 * Writes `dir` as a gzipped tarball to `file`. Entries are relative to `dir`; `portable` leaves
 * out uid/gid, owner names, ctime/atime and other host-specific metadata. Leaves out `.git`, tool
 * caches and what the folder's `.ferryignore` names.
 */
export async function pack(dir: string, file: string): Promise<Packed> {
  const rules = await ignoreRules(dir);
  const left = (path: string, isDir: boolean): boolean => {
    const rel = path.replace(/\\/g, '/').replace(/^\.\//, '').replace(/\/$/, '');
    if (rel === '' || rel === '.') return false;
    return excluded(rel) || rules.ignores(isDir ? `${rel}/` : rel);
  };
  const entries = readdirSync(dir)
    .filter((e) => !left(e, statSync(join(dir, e)).isDirectory()))
    .sort();
  if (entries.length === 0) throw new Error(`${dir} is empty`);
  const credentialFiles: string[] = [];
  // Loaded here, not with the CLI: `ferry server` runs this program too and never packs.
  const { create } = await import('tar');
  await create(
    {
      gzip: true,
      portable: true,
      cwd: dir,
      file,
      filter: (path, stat) => {
        const isDir = 'isDirectory' in stat && stat.isDirectory();
        if (left(path, isDir)) return false;
        if (!isDir && looksLikeCredentials(path)) credentialFiles.push(path.replace(/^\.\//, ''));
        return true;
      },
    },
    entries,
  );
  return { size: statSync(file).size, credentialFiles: credentialFiles.sort() };
}
