import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Name of the manifest that marks a package root. */
export const MANIFEST_FILE = 'ferry.json';

/**
 * Where the package actually starts inside an unpacked tree: `dir` itself when it holds
 * `ferry.json`, else its only directory (as `tar czf fn.tgz fn/` produces; macOS' `__MACOSX`
 * litter ignored) when that one holds `ferry.json`, else `dir` (the caller reports the missing
 * manifest). Symlinks are never followed to find the root.
 */
export async function findPackageRoot(dir: string): Promise<string> {
  if (await isFile(join(dir, MANIFEST_FILE))) return dir;
  const entries = (await readdir(dir, { withFileTypes: true })).filter((d) => d.name !== '__MACOSX');
  const only = entries.length === 1 ? entries[0] : undefined;
  if (only?.isDirectory() && (await isFile(join(dir, only.name, MANIFEST_FILE)))) return join(dir, only.name);
  return dir;
}

/** Whether `p` is a regular file (links followed). */
export async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}
