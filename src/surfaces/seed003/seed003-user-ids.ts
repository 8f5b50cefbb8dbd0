import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { UserRecord } from '../../core/index.js';

interface Entry {
  id: string;
  /** The user's `createdAt` when the id was given: a user made again under the same name is another user. */
  createdAt: number;
}

/**
 * The seed-003 API's user ids: a random UUID per Ferry user, given the first time the API shows
 * the user and kept in `<data-dir>/seed003/user-ids.json` (written whole and renamed into place).
 * Random rather than derived from the name, so an id tells nothing and names no other user; bound
 * to the user's creation time, so a user deleted and made again under its name gets a new id, and
 * a login token naming the old id does not pass for the new user.
 */
export class SeedUserIds {
  private byName: Map<string, Entry> | undefined;
  /** Writes one at a time, each of the whole map as it then is. */
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly file: string) {}

  /** The user's id, given now if it has none (or only one from an earlier user of that name). */
  async idOf(user: UserRecord): Promise<string> {
    const map = await this.load();
    const known = map.get(user.name);
    if (known && known.createdAt === user.createdAt) return known.id;
    const entry = { id: randomUUID(), createdAt: user.createdAt };
    map.set(user.name, entry);
    await this.save(map);
    return entry.id;
  }

  /** The user `id` stands for, among `users`: undefined for an id never given, or given to a user since gone. */
  async userOf(id: string, users: UserRecord[]): Promise<UserRecord | undefined> {
    const map = await this.load();
    for (const u of users) {
      const e = map.get(u.name);
      if (e && e.id === id && e.createdAt === u.createdAt) return u;
    }
    return undefined;
  }

  private async load(): Promise<Map<string, Entry>> {
    if (this.byName) return this.byName;
    const text = await readFile(this.file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return '{}';
      throw err;
    });
    const loaded = new Map(Object.entries(JSON.parse(text) as Record<string, Entry>));
    return (this.byName ??= loaded);
  }

  private save(map: Map<string, Entry>): Promise<void> {
    const write = async (): Promise<void> => {
      await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
      const tmp = `${this.file}.tmp`;
      await writeFile(tmp, JSON.stringify(Object.fromEntries(map)), { mode: 0o600 });
      await rename(tmp, this.file);
    };
    this.writing = this.writing.then(write, write);
    return this.writing;
  }
}
