/** Users in a KV bucket (`<prefix>_users`), one key per user (`token(name)`); created with `create`, so a name is taken once. */
import type { UserStore } from '../../core/store.js';
import type { UserRecord } from '../../core/records.js';
import { FerryError } from '../../errors/index.js';
import type { Bucket } from './bucket.js';
import { token } from './layout.js';
import type { NatsTokens } from './tokens.js';

export class NatsUsers implements UserStore {
  constructor(
    private readonly bucket: Bucket,
    private readonly tokens: NatsTokens,
  ) {}

  async create(rec: UserRecord): Promise<void> {
    if ((await this.bucket.create(token(rec.name), rec)) === undefined) throw new FerryError('user-exists', `a user named '${rec.name}' already exists`);
  }

  async get(name: string): Promise<UserRecord | undefined> {
    return (await this.bucket.get<UserRecord>(token(name)))?.value;
  }

  async list(): Promise<UserRecord[]> {
    return (await this.bucket.scan<UserRecord>()).map((e) => e.value).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async update(name: string, patch: { passwordHash?: string | null; groups?: string[]; updatedAt: number }): Promise<UserRecord | undefined> {
    const { after } = await this.bucket.change<UserRecord>(token(name), (cur) =>
      cur && { ...cur, ...(patch.passwordHash !== undefined ? { passwordHash: patch.passwordHash } : {}), ...(patch.groups !== undefined ? { groups: patch.groups } : {}), updatedAt: patch.updatedAt },
    );
    return after;
  }

  /**
   * Revokes the user's tokens, deletes the user, and revokes again (a token made meanwhile): a
   * crash in between leaves a user without working tokens, never tokens without a user.
   */
  async delete(name: string, now: number): Promise<boolean> {
    const cur = await this.bucket.get<UserRecord>(token(name));
    if (!cur) return false;
    await this.tokens.revokeSubject(name, now);
    if (!(await this.bucket.delete(token(name), cur.revision))) return this.delete(name, now);
    await this.tokens.revokeSubject(name, now);
    return true;
  }
}
