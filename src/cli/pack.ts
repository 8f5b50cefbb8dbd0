/** Packs a function folder into a tar.gz the server accepts. */
import { readdirSync, statSync } from 'node:fs';

/** Paths left out of every package: VCS data and tool caches. */
export function excluded(path: string): boolean {
  const parts = path.replace(/\\/g, '/').split('/').filter((p) => p !== '' && p !== '.');
  for (let i = 0; i < parts.length; i++) {
    if (parts[i] === '.git') return true;
    if (parts[i] === 'node_modules' && parts[i + 1] === '.cache') return true;
  }
  return false;
}

/**
 * Writes `dir` as a gzipped tarball to `file` and returns its size. Entries are relative to `dir`;
 * `portable` leaves out uid/gid, owner names, ctime/atime and other host-specific metadata.
 */
export async function pack(dir: string, file: string): Promise<number> {
  const entries = readdirSync(dir).filter((e) => !excluded(e)).sort();
  if (entries.length === 0) throw new Error(`${dir} is empty`);
  // Loaded here, not with the CLI: `ferry server` runs this program too and never packs.
  const { create } = await import('tar');
  await create({ gzip: true, portable: true, cwd: dir, file, filter: (path) => !excluded(path) }, entries);
  return statSync(file).size;
}
