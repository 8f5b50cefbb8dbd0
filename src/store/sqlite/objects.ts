/**
 * Objects on the embedded store: the index in SQLite, the content as content-addressed blobs
 * under `<data-dir>/objects/<sha[0:2]>/<sha>`. A put streams into a temp file while hashing and
 * counting, fsyncs it, renames it to its address (fsyncing the directory), and only then commits
 * the index row, so a key never names a blob that is not whole on disk. A blob is unlinked when
 * the last key using it goes.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type Database from 'better-sqlite3';
import type { ObjectPutOptions, ObjectRecord, ObjectStore } from '../../core/objects.js';
import { FerryError } from '../../errors/index.js';
import { receiveObject } from '../receive-object.js';

interface ObjectRow {
  function: string;
  key: string;
  sha256: string;
  size: number;
  content_type: string;
  created_at: number;
  updated_at: number;
}

const fromRow = (r: ObjectRow): ObjectRecord => ({ function: r.function, key: r.key, sha256: r.sha256, size: r.size, contentType: r.content_type, createdAt: r.created_at, updatedAt: r.updated_at });

/** Temp files and unreferenced blobs older than this are left over from a crash: swept at open. */
const STALE_MS = 3_600_000;
/**
 * The least byte string above every key starting with `prefix`: its UTF-8 with the last byte
 * raised by one (UTF-8 has no 0xFF byte, so it never carries). SQLite compares TEXT bytewise.
 */
function upperBound(prefix: string): Buffer | undefined {
  if (prefix === '') return undefined;
  const b = Buffer.from(prefix);
  b[b.length - 1]! += 1;
  return b;
}

const cols = 'function, key, sha256, size, content_type, created_at, updated_at';

export class SqliteObjects implements ObjectStore {
  private readonly sql;
  private readonly tmpDir: string;
  /** Blobs renamed into place whose index row is not committed yet: never unlinked meanwhile. */
  private readonly pending = new Map<string, number>();

  constructor(
    private readonly db: Database.Database,
    private readonly dir: string,
  ) {
    this.tmpDir = path.join(dir, '.tmp');
    fs.mkdirSync(this.tmpDir, { recursive: true, mode: 0o700 });
    fs.chmodSync(dir, 0o700);
    this.sql = {
      get: db.prepare<[string, string], ObjectRow>(`SELECT ${cols} FROM objects WHERE function = ? AND key = ?`),
      upsert: db.prepare<[ObjectRow]>(
        `INSERT INTO objects (${cols}) VALUES (@function, @key, @sha256, @size, @content_type, @created_at, @updated_at)
         ON CONFLICT (function, key) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size,
           content_type = excluded.content_type, updated_at = excluded.updated_at`,
      ),
      delete: db.prepare<[string, string]>('DELETE FROM objects WHERE function = ? AND key = ?'),
      used: db.prepare<[string], number>('SELECT 1 FROM objects WHERE sha256 = ? LIMIT 1').pluck(),
      bytesOthers: db.prepare<[string, string], number>('SELECT COALESCE(SUM(size), 0) FROM objects WHERE function = ? AND key <> ?').pluck(),
      usage: db.prepare<[string], { n: number; bytes: number }>('SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM objects WHERE function = ?'),
      list: db.prepare<{ fn: string; after: string; limit: number }, ObjectRow>(`SELECT ${cols} FROM objects WHERE function = @fn AND key > @after ORDER BY key LIMIT @limit`),
      // The bound is bytes, not necessarily UTF-8: bound as a BLOB, compared as TEXT.
      listRange: db.prepare<{ fn: string; after: string; prefix: string; upper: Buffer; limit: number }, ObjectRow>(
        `SELECT ${cols} FROM objects
         WHERE function = @fn AND key > @after AND key >= @prefix AND key < CAST(@upper AS TEXT)
         ORDER BY key LIMIT @limit`,
      ),
      shasOf: db.prepare<[string], string>('SELECT DISTINCT sha256 FROM objects WHERE function = ?').pluck(),
      deleteOf: db.prepare<[string]>('DELETE FROM objects WHERE function = ?'),
      fnExists: db.prepare<[string], number>('SELECT 1 FROM functions WHERE name = ?').pluck(),
    };
    this.sweep();
  }

  private blobPath(sha: string): string {
    return path.join(this.dir, sha.slice(0, 2), sha);
  }

  async put(fn: string, key: string, body: AsyncIterable<Uint8Array>, o: ObjectPutOptions): Promise<{ record: ObjectRecord; created: boolean }> {
    if (this.sql.fnExists.get(fn) === undefined) throw new FerryError('function-not-found', `no function named '${fn}'`);
    const tmp = path.join(this.tmpDir, randomBytes(12).toString('hex'));
    const { sha, size } = await receiveObject(tmp, body, o.maxBytes, true);
    const final = this.blobPath(sha);
    this.pending.set(sha, (this.pending.get(sha) ?? 0) + 1);
    let outcome: { record: ObjectRecord; created: boolean; replaced?: string } | undefined;
    try {
      const shard = path.dirname(final);
      const madeShard = fs.mkdirSync(shard, { recursive: true, mode: 0o700 }) !== undefined;
      // Same content already stored: keep that blob (identical bytes), drop ours.
      if (fs.existsSync(final)) fs.rmSync(tmp, { force: true });
      else fs.renameSync(tmp, final);
      await fsyncDir(shard);
      if (madeShard) await fsyncDir(this.dir);
      outcome = this.commit(fn, key, sha, size, o);
      return { record: outcome.record, created: outcome.created };
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    } finally {
      const left = (this.pending.get(sha) ?? 1) - 1;
      if (left > 0) this.pending.set(sha, left);
      else this.pending.delete(sha);
      // Ours when the commit failed, the replaced content's when it succeeded.
      if (!outcome) this.unlinkIfUnused(sha);
      else if (outcome.replaced && outcome.replaced !== sha) this.unlinkIfUnused(outcome.replaced);
    }
  }

  /** The index row, in one synchronous transaction: quota check, then insert or replace. */
  private commit(fn: string, key: string, sha: string, size: number, o: ObjectPutOptions): { record: ObjectRecord; created: boolean; replaced?: string } {
    try {
      return this.db.transaction(() => {
        if (o.quotaBytes > 0 && this.sql.bytesOthers.get(fn, key)! + size > o.quotaBytes) {
          throw new FerryError('quota-exceeded', `the objects of '${fn}' would take more than ${o.quotaBytes} bytes (--quota-object-bytes)`);
        }
        const before = this.sql.get.get(fn, key);
        const row: ObjectRow = { function: fn, key, sha256: sha, size, content_type: o.contentType, created_at: before?.created_at ?? o.now, updated_at: o.now };
        this.sql.upsert.run(row);
        return { record: fromRow(row), created: before === undefined, ...(before ? { replaced: before.sha256 } : {}) };
      }).immediate();
    } catch (err) {
      if ((err as { code?: unknown }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') throw new FerryError('function-not-found', `no function named '${fn}'`, { cause: err });
      throw err;
    }
  }

  async head(fn: string, key: string): Promise<ObjectRecord | undefined> {
    const r = this.sql.get.get(fn, key);
    return r && fromRow(r);
  }

  async get(fn: string, key: string): Promise<{ record: ObjectRecord; body: Readable } | undefined> {
    // Lookup and open in one synchronous step: a delete cannot unlink the blob in between, and
    // an open descriptor keeps reading the content even if it is unlinked afterwards.
    const r = this.sql.get.get(fn, key);
    if (!r) return undefined;
    let fd: number;
    try {
      fd = fs.openSync(this.blobPath(r.sha256), 'r');
    } catch (err) {
      throw new FerryError('internal', `the content of object '${key}' of '${fn}' is missing from the data dir`, { cause: err });
    }
    return { record: fromRow(r), body: fs.createReadStream('', { fd, highWaterMark: 256 * 1024 }) };
  }

  async delete(fn: string, key: string): Promise<boolean> {
    const r = this.sql.get.get(fn, key);
    if (!r) return false;
    this.sql.delete.run(fn, key);
    this.unlinkIfUnused(r.sha256);
    return true;
  }

  async list(fn: string, o: { prefix: string; after: string; limit: number }): Promise<ObjectRecord[]> {
    const limit = Math.floor(o.limit);
    if (!(limit > 0)) return [];
    const upper = upperBound(o.prefix);
    const rows = upper ? this.sql.listRange.all({ fn, after: o.after, prefix: o.prefix, upper, limit }) : this.sql.list.all({ fn, after: o.after, limit });
    return rows.map(fromRow);
  }

  async usage(fn: string): Promise<{ objects: number; bytes: number }> {
    const u = this.sql.usage.get(fn)!;
    return { objects: u.n, bytes: u.bytes };
  }

  /** Inside `deleteFunction`'s transaction: drops the rows, answers the blobs to check after it. */
  deleteOf(fn: string): string[] {
    const shas = this.sql.shasOf.all(fn);
    this.sql.deleteOf.run(fn);
    return shas;
  }

  /** After a commit removed rows: unlinks each blob no key uses any more. */
  collect(shas: readonly string[]): void {
    for (const sha of shas) this.unlinkIfUnused(sha);
  }

  private unlinkIfUnused(sha: string): void {
    if (this.pending.has(sha) || this.sql.used.get(sha) !== undefined) return;
    fs.rmSync(this.blobPath(sha), { force: true });
  }

  /**
   * At open: temp files and blobs no key uses, left by a crash between writing and committing.
   * Only old ones: another process may be committing a fresh blob right now.
   */
  private sweep(): void {
    const cutoff = Date.now() - STALE_MS;
    const old = (p: string): boolean => {
      try {
        return fs.statSync(p).mtimeMs < cutoff;
      } catch {
        return false;
      }
    };
    for (const name of fs.readdirSync(this.tmpDir)) if (old(path.join(this.tmpDir, name))) fs.rmSync(path.join(this.tmpDir, name), { force: true });
    for (const shard of fs.readdirSync(this.dir)) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      for (const sha of fs.readdirSync(path.join(this.dir, shard))) {
        const p = path.join(this.dir, shard, sha);
        if (this.sql.used.get(sha) === undefined && old(p)) fs.rmSync(p, { force: true });
      }
    }
  }
}

/** Makes a rename or a new entry in `dir` durable. */
async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
