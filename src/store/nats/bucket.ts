/**
 * A KV bucket with what the store does to it: JSON values, listing with values, and writes that
 * check the key's revision (compare-and-set), answering a lost race instead of throwing it.
 */
import type { KV, KvEntry } from '@nats-io/kv';
import { scanKv, type NatsHandle } from '../../nats/index.js';
import { openBucket } from './layout.js';
import { guarded } from './unavailable.js';

/** One live entry, its value parsed. */
export interface Entry<T> {
  key: string;
  revision: number;
  value: T;
}

/** Whether a JetStream write failed its revision check (someone else wrote the key first). */
export function isRevisionMismatch(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === 10071 || code === 10164 || /wrong last sequence/i.test(String((err as Error | undefined)?.message));
}

const decoder = new TextDecoder();

export class Bucket {
  private constructor(
    private readonly h: NatsHandle,
    readonly kv: KV,
    readonly name: string,
  ) {}

  static async open(h: NatsHandle, name: string): Promise<Bucket> {
    return new Bucket(h, await openBucket(h, name), name);
  }

  /** The live entry, or undefined when the key is missing or deleted. */
  async get<T>(key: string): Promise<Entry<T> | undefined> {
    return liveEntry<T>(await guarded(() => this.kv.get(key)));
  }

  /** The raw entry, deletes included (their revision matters to a compare-and-set). */
  raw(key: string): Promise<KvEntry | null> {
    return guarded(() => this.kv.get(key));
  }

  /**
   * The live entries whose keys match `filter` (a subject pattern over the key tokens), one per
   * key: every key live from the call's start to its end is listed, with its newest value
   * (`scanKv`).
   */
  async scan<T>(filter = '>'): Promise<Array<Entry<T>>> {
    return (await scanKv(this.h, this.name, filter)).map((r) => ({ key: r.key, revision: r.revision, value: JSON.parse(decoder.decode(r.data)) as T }));
  }

  /** Writes a new key; undefined when it exists (live). */
  async create(key: string, value: unknown): Promise<number | undefined> {
    try {
      return await guarded(() => this.kv.create(key, JSON.stringify(value)));
    } catch (err) {
      if (isRevisionMismatch(err)) return undefined;
      throw err;
    }
  }

  /** Writes the key if its revision is still `revision`; undefined when it is not. */
  async update(key: string, value: unknown, revision: number): Promise<number | undefined> {
    try {
      return await guarded(() => this.kv.update(key, JSON.stringify(value), revision));
    } catch (err) {
      if (isRevisionMismatch(err)) return undefined;
      throw err;
    }
  }

  put(key: string, value: unknown): Promise<number> {
    return guarded(() => this.kv.put(key, JSON.stringify(value)));
  }

  /** Deletes the key (if its revision is still `revision`, when given); false on a lost race. */
  async delete(key: string, revision?: number): Promise<boolean> {
    try {
      await guarded(() => this.kv.delete(key, revision ? { previousSeq: revision } : undefined));
      return true;
    } catch (err) {
      if (isRevisionMismatch(err)) return false;
      throw err;
    }
  }

  /**
   * Read-modify-write with a revision check, retried until it lands: `change` gets the current
   * value (undefined when none) and answers the new one, `null` to delete, or `undefined` to
   * leave the key alone. Answers the value before and after, and the revision after a write.
   * `known`: the entry as this process last wrote it, tried first without reading it (a write
   * since then fails the check, and the loop reads).
   */
  async change<T>(
    key: string,
    change: (current: T | undefined) => T | null | undefined,
    known?: Omit<Entry<T>, 'key'>,
  ): Promise<{ before: T | undefined; after: T | undefined; revision?: number }> {
    for (let guess = known; ; guess = undefined) {
      const raw = guess ? undefined : await this.raw(key);
      const cur = guess ? { ...guess, key } : liveEntry<T>(raw ?? null);
      const next = change(cur?.value);
      if (next === undefined) {
        if (guess) continue;
        return { before: cur?.value, after: cur?.value };
      }
      if (next === null) {
        if (!cur) return { before: undefined, after: undefined };
        if (await this.delete(key, cur.revision)) return { before: cur.value, after: undefined };
        continue;
      }
      // A deleted key keeps its revision: an update against it is still a checked write.
      const at = guess ? guess.revision : raw?.revision;
      const revision = at !== undefined ? await this.update(key, next, at) : await this.create(key, next);
      if (revision !== undefined) return { before: cur?.value, after: next, revision };
    }
  }
}

/** The entry's parsed value, or undefined when it is missing or deleted. */
export function liveEntry<T>(e: KvEntry | null): Entry<T> | undefined {
  if (!e || e.operation !== 'PUT') return undefined;
  return { key: e.key, revision: e.revision, value: e.json<T>() };
}
