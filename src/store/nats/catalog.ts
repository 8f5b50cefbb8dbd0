/**
 * Functions, versions and aliases in one KV bucket (`<prefix>_catalog`), so that the bucket's
 * stream sequence orders every change: it is the store-wide revision, and a KV watch from it is
 * the change feed.
 *
 * Keys: `fn.<F>` the function's head, `v.<F>.<V>` a version, `a.<F>.<A>` an alias (tokens are
 * `token()` of the names). The head's KV revision is the function's revision: every write under
 * the function is first a checked update of the head, which is what serialises writers across
 * processes. A write that also changes a version or alias key carries that change in the head
 * (`op`, an intent) and applies it right after; whoever reads the head next (a writer, or
 * `functionRevision`) applies a pending intent first, so a crash between the two writes leaves
 * the intent for the next caller, and a compare-and-set decided on what it read never misses
 * it. An intent is applied only if its key has not been written since the head was (the bucket
 * is one stream, so revisions compare across keys): a late or repeated application never undoes
 * a newer write.
 */
import type { FunctionRecord } from '../../core/records.js';
import { FerryError } from '../../errors/index.js';
import type { Bucket, Entry } from './bucket.js';
import { token } from './layout.js';

/** A change of one version or alias key: its new value, or null to delete it. */
export interface Intent {
  key: string;
  value: unknown;
}

export interface Head {
  fn: FunctionRecord;
  /** Highest version seq so far; never lowered by deletes. */
  lastSeq: number;
  /** Set by `tombstone`: the function is gone, what it left is for `sweep`; its package shas. */
  deleted?: { at: number; shas: string[] };
  /** The version or alias change this head revision made, applied right after (see above). */
  op?: Intent;
}

export const headKey = (fn: string): string => `fn.${token(fn)}`;
export const versionKey = (fn: string, v: string): string => `v.${token(fn)}.${token(v)}`;
export const aliasKey = (fn: string, a: string): string => `a.${token(fn)}.${token(a)}`;
export const versionsOf = (fn: string): string => `v.${token(fn)}.*`;
export const aliasesOf = (fn: string): string => `a.${token(fn)}.*`;

const notFound = (fn: string): FerryError => new FerryError('function-not-found', `no function named '${fn}'`);
const conflict = (fn: string, expected: number): FerryError =>
  new FerryError('revision-conflict', `function '${fn}' changed meanwhile: its revision is no longer ${expected}`);

/** What a write decides once it holds the head as read: the head's new members, an intent, its answer. */
export interface Decision<R> {
  head?: Partial<Omit<Head, 'op'>>;
  op?: Intent;
  result: R;
}

export class Catalog {
  constructor(readonly bucket: Bucket) {}

  /** The function's head with any pending intent applied; undefined when there is none. */
  async head(fn: string): Promise<Entry<Head> | undefined> {
    const head = await this.bucket.get<Head>(headKey(fn));
    if (head?.value.op) await this.apply(head.value.op, head.revision);
    return head;
  }

  /** Applies `op` (written with the head at revision `at`) unless its key was written since. */
  async apply(op: Intent, at: number): Promise<void> {
    for (;;) {
      const raw = await this.bucket.raw(op.key);
      if (raw && raw.revision > at) return;
      if (op.value === null) {
        if (!raw || raw.operation !== 'PUT') return;
        if (await this.bucket.delete(op.key, raw.revision)) return;
      } else {
        const ok = raw ? await this.bucket.update(op.key, op.value, raw.revision) : await this.bucket.create(op.key, op.value);
        if (ok !== undefined) return;
      }
    }
  }

  /**
   * One write under function `fn`: reads its head (applying a pending intent), checks `expected`,
   * lets `decide` look at the data and choose, then updates the head with a revision check and
   * applies the intent. A lost race is `revision-conflict` when the caller gave `expected`, else
   * the write starts over. A missing function is `function-not-found` with `expected` (or when
   * tombstoned), else `missing()` answers.
   */
  async write<R>(fn: string, expected: number | undefined, decide: (head: Entry<Head>) => Promise<Decision<R>>, missing: () => R): Promise<R> {
    for (;;) {
      const head = await this.head(fn);
      if (!head || head.value.deleted) {
        if (expected !== undefined || head?.value.deleted) throw notFound(fn);
        return missing();
      }
      if (expected !== undefined && head.revision !== expected) throw conflict(fn, expected);
      const d = await decide(head);
      const { op: _done, ...kept } = head.value;
      const next: Head = { ...kept, ...d.head, ...(d.op ? { op: d.op } : {}) };
      const revision = await this.bucket.update(headKey(fn), next, head.revision);
      if (revision === undefined) {
        if (expected !== undefined) throw conflict(fn, expected);
        continue;
      }
      if (d.op) await this.apply(d.op, revision);
      return d.result;
    }
  }
}

