import { createHash, randomUUID } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { copyTree } from './output-tree.js';

/**
 * Finished installs, content-addressed by what they depend on (the dependency files, the sources,
 * the tool's version): `<dir>/<sha256>/`. An entry appears whole or not at all (copied under a
 * temporary name, then renamed), and is never changed after.
 */
export class BuildCache {
  constructor(private readonly dir: string) {}

  /** The key of a plan's inputs. */
  static key(parts: string[]): string {
    const h = createHash('sha256');
    for (const p of parts) h.update(`${Buffer.byteLength(p)}:`).update(p);
    return h.digest('hex');
  }

  /** The cached tree of `key`, if there is one. */
  async find(key: string): Promise<string | undefined> {
    const path = join(this.dir, key);
    return (await stat(path).catch(() => undefined))?.isDirectory() ? path : undefined;
  }

  /** Keeps a copy of `tree` under `key`; a concurrent identical build that got there first wins. */
  async put(key: string, tree: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = join(this.dir, `.tmp-${randomUUID()}`);
    try {
      await copyTree(tree, tmp);
      await rename(tmp, join(this.dir, key)).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
      });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
}
