import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Turns } from '../util/turns.js';
import { copyTree } from './output-tree.js';
import { treeSize } from './tree-size.js';

/**
 * Finished installs, content-addressed by what they depend on (the dependency files, the sources,
 * the tool's version): `<dir>/<sha256>/`. An entry appears whole or not at all (copied under a
 * temporary name, then renamed), and is never changed after, except its mtime: the time of its
 * last use. Each entry holds its size (`SIZE_FILE`), measured once when it is stored, so pruning
 * reads sizes instead of walking every entry after each store. Past `maxBytes` the least recently
 * used entries are removed, each whole (renamed aside, then removed). Reuse, storing and pruning
 * take turns, so no entry is removed while it is being copied.
 */
/** An entry's size in bytes, written into it before it is renamed into place; never copied out. */
const SIZE_FILE = '.ferry-cache-bytes';

/** The recorded size of the entry at `path`; an entry without one (an older server's) is measured. */
async function entryBytes(path: string): Promise<number> {
  const text = await readFile(join(path, SIZE_FILE), 'utf8').catch(() => undefined);
  const bytes = Number(text);
  return text !== undefined && Number.isSafeInteger(bytes) && bytes >= 0 ? bytes : treeSize(path);
}

export class BuildCache {
  private readonly lock = new Turns(1);

  constructor(private readonly dir: string, private readonly maxBytes: number) {}

  /** The key of a plan's inputs. */
  static key(parts: string[]): string {
    const h = createHash('sha256');
    for (const p of parts) h.update(`${Buffer.byteLength(p)}:`).update(p);
    return h.digest('hex');
  }

  /** Copies the cached tree of `key` to `to` and marks it used; false if there is none. */
  async reuse(key: string, to: string): Promise<boolean> {
    return this.lock.run(async () => {
      const path = join(this.dir, key);
      if (!(await stat(path).catch(() => undefined))?.isDirectory()) return false;
      const now = new Date();
      await utimes(path, now, now);
      const sizeFile = join(path, SIZE_FILE);
      await copyTree(path, to, (file) => file !== sizeFile);
      return true;
    });
  }

  /**
   * Keeps a copy of `tree` under `key` (a concurrent identical build that got there first wins),
   * then prunes the cache to `maxBytes`.
   */
  async put(key: string, tree: string): Promise<void> {
    await this.lock.run(async () => {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      const tmp = join(this.dir, `.tmp-${randomUUID()}`);
      try {
        await copyTree(tree, tmp);
        await writeFile(join(tmp, SIZE_FILE), String(await treeSize(tmp)));
        await rename(tmp, join(this.dir, key)).catch(async (err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
        });
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
      await this.prune();
    });
  }

  /** Removes the least recently used entries until the cache holds at most `maxBytes`. */
  private async prune(): Promise<void> {
    const entries: Array<{ name: string; used: number; bytes: number }> = [];
    for (const name of await readdir(this.dir)) {
      // Half-written or half-removed entries of a killed server.
      if (name.startsWith('.')) {
        await rm(join(this.dir, name), { recursive: true, force: true });
        continue;
      }
      const used = (await stat(join(this.dir, name))).mtimeMs;
      entries.push({ name, used, bytes: await entryBytes(join(this.dir, name)) });
    }
    entries.sort((a, b) => a.used - b.used);
    let total = entries.reduce((sum, e) => sum + e.bytes, 0);
    for (const e of entries) {
      if (total <= this.maxBytes) break;
      const aside = join(this.dir, `.evict-${randomUUID()}`);
      await rename(join(this.dir, e.name), aside);
      await rm(aside, { recursive: true, force: true });
      total -= e.bytes;
    }
  }
}
