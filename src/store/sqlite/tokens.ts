/** Stored tokens (API, refresh, invite) on the embedded store: hashes only. */
import type Database from 'better-sqlite3';
import type { TokenStore } from '../../core/store.js';
import type { TokenKind, TokenRecord } from '../../core/records.js';
import { FerryError } from '../../errors/index.js';
import { parseJson } from './rows.js';

interface TokenRow {
  id: string;
  kind: string;
  hash: string;
  prefix: string;
  subject: string;
  groups: string;
  label: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}

const columns = 'id, kind, hash, prefix, subject, groups, label, created_at, expires_at, revoked_at';

function fromRow(r: TokenRow): TokenRecord {
  return {
    id: r.id,
    kind: r.kind as TokenKind,
    hash: r.hash,
    prefix: r.prefix,
    subject: r.subject,
    groups: parseJson<string[]>(r.groups, `tokens(${r.id}).groups`),
    label: r.label,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
  };
}

export class SqliteTokens implements TokenStore {
  private readonly sql;

  constructor(private readonly db: Database.Database) {
    this.sql = {
      insert: db.prepare<[TokenRow]>(`INSERT INTO tokens (${columns}) VALUES (@id, @kind, @hash, @prefix, @subject, @groups, @label, @created_at, @expires_at, @revoked_at)`),
      byHash: db.prepare<[string], TokenRow>(`SELECT ${columns} FROM tokens WHERE hash = ?`),
      byId: db.prepare<[string], TokenRow>(`SELECT ${columns} FROM tokens WHERE id = ?`),
      list: db.prepare<{ subject: string | null; kind: string | null }, TokenRow>(
        `SELECT ${columns} FROM tokens WHERE (@subject IS NULL OR subject = @subject) AND (@kind IS NULL OR kind = @kind) ORDER BY created_at, id`,
      ),
      revoke: db.prepare<[number, string]>('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
      consume: db.prepare<[number, string, number]>('UPDATE tokens SET revoked_at = ? WHERE hash = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)'),
      count: db.prepare<[], number>('SELECT COUNT(*) FROM tokens').pluck(),
      prune: db.prepare<[number, number]>('DELETE FROM tokens WHERE (revoked_at IS NOT NULL AND revoked_at < ?) OR (expires_at IS NOT NULL AND expires_at < ?)'),
    };
  }

  /** A duplicate id or hash is FerryError `internal`: both are random, so it is a bug. */
  async create(rec: TokenRecord): Promise<void> {
    try {
      this.sql.insert.run({
        id: rec.id,
        kind: rec.kind,
        hash: rec.hash,
        prefix: rec.prefix,
        subject: rec.subject,
        groups: JSON.stringify(rec.groups),
        label: rec.label,
        created_at: rec.createdAt,
        expires_at: rec.expiresAt ?? null,
        revoked_at: rec.revokedAt ?? null,
      });
    } catch (err) {
      if (err instanceof Error && 'code' in err && String(err.code).startsWith('SQLITE_CONSTRAINT')) {
        throw new FerryError('internal', `a token with id ${rec.id} or the same hash already exists`, { cause: err });
      }
      throw err;
    }
  }

  /** The token with this hash, revoked and expired ones included: the caller judges validity. */
  async findByHash(hash: string): Promise<TokenRecord | undefined> {
    const r = this.sql.byHash.get(hash);
    return r && fromRow(r);
  }

  async get(id: string): Promise<TokenRecord | undefined> {
    const r = this.sql.byId.get(id);
    return r && fromRow(r);
  }

  async list(filter: { subject?: string; kind?: TokenKind }): Promise<TokenRecord[]> {
    return this.sql.list.all({ subject: filter.subject ?? null, kind: filter.kind ?? null }).map(fromRow);
  }

  async revoke(id: string, now: number): Promise<boolean> {
    return this.sql.revoke.run(now, id).changes > 0;
  }

  async consume(hash: string, now: number): Promise<TokenRecord | undefined> {
    return this.db.transaction(() => {
      if (this.sql.consume.run(now, hash, now).changes === 0) return undefined;
      return fromRow(this.sql.byHash.get(hash)!);
    }).immediate();
  }

  async count(): Promise<number> {
    return this.sql.count.get() ?? 0;
  }

  async prune(before: number): Promise<void> {
    this.sql.prune.run(before, before);
  }
}
