import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The bytes of the files and links under `dir` (folders count nothing), found without following
 * a link. The walk stops as soon as the total passes `stopAbove`, so a tree that grows without
 * end costs no more than the cap to measure. A file that vanishes during the walk counts nothing.
 */
export async function treeSize(dir: string, stopAbove = Infinity): Promise<number> {
  let total = 0;
  const walk = async (path: string): Promise<void> => {
    const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (total > stopAbove) return;
      const p = join(path, e.name);
      if (e.isDirectory()) await walk(p);
      else total += (await lstat(p).catch(() => undefined))?.size ?? 0;
    }
  };
  await walk(dir);
  return total;
}
