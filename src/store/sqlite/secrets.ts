/** Secrets on the embedded store: sealed values only. */
import type Database from 'better-sqlite3';
import type { SecretStore } from '../../core/store.js';
import type { SecretRecord } from '../../core/records.js';

interface SecretRow {
  owner: string;
  name: string;
  value: Buffer;
  key_id: string | null;
  created_at: number;
  updated_at: number;
}

const fromRow = (r: SecretRow): SecretRecord => ({ owner: r.owner, name: r.name, sealed: r.value, ...(r.key_id === null ? {} : { keyId: r.key_id }), createdAt: r.created_at, updatedAt: r.updated_at });
const columns = 'owner, name, value, key_id, created_at, updated_at';

export class SqliteSecrets implements SecretStore {
  private readonly sql;

  constructor(private readonly db: Database.Database) {
    this.sql = {
      get: db.prepare<[string, string], SecretRow>(`SELECT ${columns} FROM secrets WHERE owner = ? AND name = ?`),
      all: db.prepare<[], SecretRow>(`SELECT ${columns} FROM secrets ORDER BY owner, name`),
      byOwner: db.prepare<[string], SecretRow>(`SELECT ${columns} FROM secrets WHERE owner = ? ORDER BY name`),
      put: db.prepare<[SecretRow]>(
        `INSERT INTO secrets (${columns}) VALUES (@owner, @name, @value, @key_id, @created_at, @updated_at)
         ON CONFLICT (owner, name) DO UPDATE SET value = excluded.value, key_id = excluded.key_id, updated_at = excluded.updated_at`,
      ),
      delete: db.prepare<[string, string]>('DELETE FROM secrets WHERE owner = ? AND name = ?'),
    };
  }

  async put(rec: SecretRecord): Promise<boolean> {
    return this.db.transaction(() => {
      const existed = this.sql.get.get(rec.owner, rec.name) !== undefined;
      this.sql.put.run({ owner: rec.owner, name: rec.name, value: rec.sealed, key_id: rec.keyId ?? null, created_at: rec.createdAt, updated_at: rec.updatedAt });
      return existed;
    }).immediate();
  }

  async get(owner: string, name: string): Promise<SecretRecord | undefined> {
    const r = this.sql.get.get(owner, name);
    return r && fromRow(r);
  }

  async list(owners: string[] | undefined): Promise<SecretRecord[]> {
    if (owners === undefined) return this.sql.all.all().map(fromRow);
    return [...new Set(owners)].sort().flatMap((o) => this.sql.byOwner.all(o).map(fromRow));
  }

  async delete(owner: string, name: string): Promise<boolean> {
    return this.sql.delete.run(owner, name).changes > 0;
  }
}
