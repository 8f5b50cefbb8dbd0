import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { PackageFiles } from './ferry.js';

/**
 * The files under `srcDir` as a `PackageFiles` map, each placed under `prefix` (e.g. copy the
 * repository's `node_modules/ws` into a package's `node_modules/ws`). Text files only: the map
 * holds strings, which is what `packFiles` writes.
 */
export async function treeFiles(srcDir: string, prefix: string): Promise<PackageFiles> {
  const out: PackageFiles = {};
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      if (entry.isDirectory()) await walk(p);
      else if (entry.isFile()) {
        const mode = (await stat(p)).mode & 0o777;
        const content = await readFile(p, 'utf8');
        out[join(prefix, relative(srcDir, p))] = mode & 0o111 ? { content, mode } : content;
      }
    }
  };
  await walk(srcDir);
  return out;
}
