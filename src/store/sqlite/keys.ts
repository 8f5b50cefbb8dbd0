/**
 * Server keys of the embedded store: one 0600 file each under `<data-dir>/keys/` (0700). A key
 * is created with an exclusive open, so two processes starting on one data dir agree on it.
 * A key set is `<name>.key` (its first key, the one from before key sets) and `<name>.<n>.key`
 * for each rotation (n = 2, 3, ...; the highest is current): a rotation adds a file, never
 * rewrites one, and two processes rotating at once add one key, not two.
 */
import { link, mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeySet, KeyStore } from '../../core/store.js';
import { keyId } from '../../core/key-id.js';
import { FerryError } from '../../errors/index.js';

const keyName = /^[a-z0-9][a-z0-9-]{0,62}$/;

export class FileKeys implements KeyStore {
  private readonly cache = new Map<string, Promise<Buffer>>();
  private readonly sets = new Map<string, Promise<KeySet>>();

  constructor(private readonly dir: string) {}

  get(name: string, create: () => Buffer): Promise<Buffer> {
    if (!keyName.test(name)) throw new FerryError('internal', `bad key name '${name}'`);
    let p = this.cache.get(name);
    if (!p) {
      p = this.load(name, create);
      this.cache.set(name, p);
      p.catch(() => this.cache.delete(name));
    }
    return p;
  }

  keySet(name: string, create: () => Buffer, opts: { refresh?: boolean } = {}): Promise<KeySet> {
    let p = opts.refresh ? undefined : this.sets.get(name);
    if (!p) {
      p = this.readSet(name, create);
      this.sets.set(name, p);
      p.catch(() => this.sets.delete(name));
    }
    return p;
  }

  async rotate(name: string, create: () => Buffer): Promise<KeySet> {
    const before = await this.readSet(name, create);
    // An exclusive link: if another process rotated to this number first, its key is the new one.
    await this.createOnce(join(this.dir, `${name}.${before.keys.length + 1}.key`), create);
    const after = this.readSet(name, create);
    this.sets.set(name, after);
    return after;
  }

  /** Every key of the set, oldest first; the first made if there is none. */
  private async readSet(name: string, create: () => Buffer): Promise<KeySet> {
    if (!keyName.test(name)) throw new FerryError('internal', `bad key name '${name}'`);
    const first = await this.load(name, create);
    const later = (await readdir(this.dir))
      .map((f) => new RegExp(`^${name}\\.([0-9]+)\\.key$`).exec(f)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    const keys = [first, ...(await Promise.all(later.map((n) => readKey(join(this.dir, `${name}.${n}.key`)))))].map((key) => ({ id: keyId(key), key }));
    return { current: keys.at(-1)!, keys };
  }

  private async load(name: string, create: () => Buffer): Promise<Buffer> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = join(this.dir, `${name}.key`);
    try {
      return await readKey(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await this.createOnce(file, create);
    return readKey(file);
  }

  /** Creates `file` with a new key unless it exists (then the existing one stands). */
  private async createOnce(file: string, create: () => Buffer): Promise<void> {
    // Written whole under a temporary name, then linked into place: a crash never leaves a
    // half-written key.
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(create().toString('base64') + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      // link() fails if the name exists: of two racing processes, one key wins, whole.
      await link(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      await rm(tmp, { force: true });
    }
  }
}

async function readKey(file: string): Promise<Buffer> {
  const text = (await readFile(file, 'utf8')).trim();
  const key = Buffer.from(text, 'base64');
  if (key.length < 16) throw new FerryError('internal', `key file ${file} is damaged: restore it from a backup (tokens or secrets it protects cannot be read without it)`);
  return key;
}
