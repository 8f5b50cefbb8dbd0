/**
 * Server keys of the embedded store: one 0600 file each under `<data-dir>/keys/` (0700). A key
 * is created with an exclusive open, so two processes starting on one data dir agree on it.
 */
import { link, mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyStore } from '../../core/store.js';
import { FerryError } from '../../errors/index.js';

const keyName = /^[a-z0-9][a-z0-9-]{0,62}$/;

export class FileKeys implements KeyStore {
  private readonly cache = new Map<string, Promise<Buffer>>();

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

  private async load(name: string, create: () => Buffer): Promise<Buffer> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = join(this.dir, `${name}.key`);
    try {
      return await readKey(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
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
    return readKey(file);
  }
}

async function readKey(file: string): Promise<Buffer> {
  const text = (await readFile(file, 'utf8')).trim();
  const key = Buffer.from(text, 'base64');
  if (key.length < 16) throw new FerryError('internal', `key file ${file} is damaged: restore it from a backup (tokens or secrets it protects cannot be read without it)`);
  return key;
}
