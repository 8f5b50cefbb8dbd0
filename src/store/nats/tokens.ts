/**
 * Stored tokens in a KV bucket (`<prefix>_tokens`): `id.<id>` the record, `hash.<sha256>` the id
 * it belongs to. The hash key is created first, with `create`, so a hash is taken once; a crash
 * before the record is written leaves a hash naming no token, which finds nothing.
 */
import type { TokenStore } from '../../core/store.js';
import type { TokenKind, TokenRecord } from '../../core/records.js';
import { FerryError } from '../../errors/index.js';
import type { Bucket } from './bucket.js';
import { token } from './layout.js';

const idKey = (id: string): string => `id.${token(id)}`;
const hashKey = (hash: string): string => `hash.${token(hash)}`;
const byCreation = (a: TokenRecord, b: TokenRecord): number => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export class NatsTokens implements TokenStore {
  constructor(private readonly bucket: Bucket) {}

  /** A duplicate id or hash is FerryError `internal`: both are random, so it is a bug. */
  async create(rec: TokenRecord): Promise<void> {
    const taken = (): FerryError => new FerryError('internal', `a token with id ${rec.id} or the same hash already exists`);
    if ((await this.bucket.create(hashKey(rec.hash), { id: rec.id })) === undefined) throw taken();
    if ((await this.bucket.create(idKey(rec.id), rec)) === undefined) {
      await this.bucket.delete(hashKey(rec.hash));
      throw taken();
    }
  }

  async findByHash(hash: string): Promise<TokenRecord | undefined> {
    const ref = await this.bucket.get<{ id: string }>(hashKey(hash));
    if (!ref) return undefined;
    const rec = await this.get(ref.value.id);
    return rec?.hash === hash ? rec : undefined;
  }

  async get(id: string): Promise<TokenRecord | undefined> {
    return (await this.bucket.get<TokenRecord>(idKey(id)))?.value;
  }

  async list(filter: { subject?: string; kind?: TokenKind }): Promise<TokenRecord[]> {
    return (await this.bucket.scan<TokenRecord>('id.*'))
      .map((e) => e.value)
      .filter((t) => (filter.subject === undefined || t.subject === filter.subject) && (filter.kind === undefined || t.kind === filter.kind))
      .sort(byCreation);
  }

  async revoke(id: string, now: number): Promise<boolean> {
    const { before, after } = await this.bucket.change<TokenRecord>(idKey(id), (cur) => (cur && cur.revokedAt === null ? { ...cur, revokedAt: now } : undefined));
    return before !== after;
  }

  /** Revokes every live token of `subject` (a deleted user's). */
  async revokeSubject(subject: string, now: number): Promise<void> {
    for (const t of await this.list({ subject })) if (t.revokedAt === null) await this.revoke(t.id, now);
  }

  /** A checked update from the revision read: of two concurrent uses, only one write lands. */
  async consume(hash: string, now: number): Promise<TokenRecord | undefined> {
    const ref = await this.bucket.get<{ id: string }>(hashKey(hash));
    if (!ref) return undefined;
    const { before, after } = await this.bucket.change<TokenRecord>(idKey(ref.value.id), (cur) =>
      cur && cur.hash === hash && cur.revokedAt === null && (cur.expiresAt === null || cur.expiresAt > now) ? { ...cur, revokedAt: now } : undefined,
    );
    return before !== after ? after : undefined;
  }

  async count(): Promise<number> {
    return (await this.bucket.scan('id.*')).length;
  }

  async prune(before: number): Promise<void> {
    for (const e of await this.bucket.scan<TokenRecord>('id.*')) {
      const t = e.value;
      if ((t.revokedAt !== null && t.revokedAt < before) || (t.expiresAt !== null && t.expiresAt < before)) {
        if (await this.bucket.delete(e.key, e.revision)) await this.bucket.delete(hashKey(t.hash));
      }
    }
  }
}
