/** Users on the embedded store. */
import type Database from 'better-sqlite3';
import type { UserStore } from '../../core/store.js';
import type { UserRecord } from '../../core/records.js';
import { FerryError } from '../../errors/index.js';
import { parseJson } from './rows.js';

interface UserRow {
  name: string;
  password_hash: string | null;
  groups: string;
  created_at: number;
  updated_at: number;
}

const columns = 'name, password_hash, groups, created_at, updated_at';

function fromRow(r: UserRow): UserRecord {
  return { name: r.name, passwordHash: r.password_hash, groups: parseJson<string[]>(r.groups, `users(${r.name}).groups`), createdAt: r.created_at, updatedAt: r.updated_at };
}

export class SqliteUsers implements UserStore {
  private readonly sql;

  constructor(private readonly db: Database.Database) {
    this.sql = {
      insert: db.prepare<[UserRow]>(`INSERT INTO users (${columns}) VALUES (@name, @password_hash, @groups, @created_at, @updated_at)`),
      get: db.prepare<[string], UserRow>(`SELECT ${columns} FROM users WHERE name = ?`),
      list: db.prepare<[], UserRow>(`SELECT ${columns} FROM users ORDER BY name`),
      setPassword: db.prepare<[string | null, number, string]>('UPDATE users SET password_hash = ?, updated_at = ? WHERE name = ?'),
      setGroups: db.prepare<[string, number, string]>('UPDATE users SET groups = ?, updated_at = ? WHERE name = ?'),
      delete: db.prepare<[string]>('DELETE FROM users WHERE name = ?'),
      revokeAll: db.prepare<[number, string]>('UPDATE tokens SET revoked_at = ? WHERE subject = ? AND revoked_at IS NULL'),
    };
  }

  async create(rec: UserRecord): Promise<void> {
    try {
      this.sql.insert.run({ name: rec.name, password_hash: rec.passwordHash, groups: JSON.stringify(rec.groups), created_at: rec.createdAt, updated_at: rec.updatedAt });
    } catch (err) {
      if (err instanceof Error && 'code' in err && String(err.code).startsWith('SQLITE_CONSTRAINT')) throw new FerryError('user-exists', `a user named '${rec.name}' already exists`);
      throw err;
    }
  }

  async get(name: string): Promise<UserRecord | undefined> {
    const r = this.sql.get.get(name);
    return r && fromRow(r);
  }

  async list(): Promise<UserRecord[]> {
    return this.sql.list.all().map(fromRow);
  }

  async update(name: string, patch: { passwordHash?: string | null; groups?: string[]; updatedAt: number }): Promise<UserRecord | undefined> {
    return this.db.transaction(() => {
      if (!this.sql.get.get(name)) return undefined;
      if (patch.passwordHash !== undefined) this.sql.setPassword.run(patch.passwordHash, patch.updatedAt, name);
      if (patch.groups !== undefined) this.sql.setGroups.run(JSON.stringify(patch.groups), patch.updatedAt, name);
      return fromRow(this.sql.get.get(name)!);
    }).immediate();
  }

  async delete(name: string, now: number): Promise<boolean> {
    return this.db.transaction(() => {
      if (this.sql.delete.run(name).changes === 0) return false;
      this.sql.revokeAll.run(now, name);
      return true;
    }).immediate();
  }
}
