/**
 * Node heartbeats as files, for the nodes of one machine on the embedded store: one JSON file per
 * node in `<data-dir>/nodes/`, replaced atomically (written aside, then renamed), expired by the
 * `at` it holds (one machine, one clock). Files older than a day are removed as they are read.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { NodeDirectory, NodeRecord } from '../../core/nodes.js';

const forgetAfterMs = 24 * 3600_000;

export class FileNodeDirectory implements NodeDirectory {
  private readonly dir: string;

  constructor(dataDir: string, private readonly ttlMs: number) {
    this.dir = join(dataDir, 'nodes');
  }

  async announce(rec: NodeRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const aside = join(this.dir, `.${randomBytes(6).toString('hex')}.tmp`);
    await writeFile(aside, JSON.stringify(rec), { mode: 0o600 });
    await rename(aside, this.file(rec.id));
  }

  async list(): Promise<NodeRecord[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const now = Date.now();
    const live: NodeRecord[] = [];
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      let rec: NodeRecord;
      try {
        rec = JSON.parse(await readFile(join(this.dir, name), 'utf8')) as NodeRecord;
      } catch {
        continue; // removed while read, or not ours
      }
      if (now - rec.at <= this.ttlMs) live.push(rec);
      else if (now - rec.at > forgetAfterMs) await rm(join(this.dir, name), { force: true });
    }
    return live.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async leave(id: string): Promise<void> {
    await rm(this.file(id), { force: true });
  }

  async close(): Promise<void> {}

  /** The id in hex: any id is a safe file name, and two ids never share one. */
  private file(id: string): string {
    return join(this.dir, `${Buffer.from(id).toString('hex')}.json`);
  }
}
