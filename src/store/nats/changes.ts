/**
 * The change feed on the catalog bucket: a KV watch from a stream sequence, each entry mapped to
 * a `Change` at that sequence. The catalog holds one value per key, so a feed from an old
 * revision replays the newest write of each key written since, in order: applied in order, it
 * ends where the store is.
 */
import { setTimeout as pause } from 'node:timers/promises';
import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { Change, ChangeFeed } from '../../core/changes.js';
import type { AliasRecord, VersionRecord } from '../../core/records.js';
import type { Head } from './catalog.js';
import { untoken } from './layout.js';

/** The change an entry of the catalog bucket stands for; undefined for a key of another kind. */
export function changeOf(e: KvWatchEntry): Change | undefined {
  const [kind, fnToken, nameToken] = e.key.split('.');
  if (fnToken === undefined) return undefined;
  const fn = untoken(fnToken);
  const live = e.operation === 'PUT';
  const revision = e.revision;
  if (kind === 'fn') {
    const head = live ? e.json<Head>() : undefined;
    return { revision, kind: 'function', function: fn, record: head && !head.deleted ? head.fn : undefined };
  }
  if (nameToken === undefined) return undefined;
  if (kind === 'v') return { revision, kind: 'version', function: fn, version: untoken(nameToken), record: live ? e.json<VersionRecord>() : undefined };
  if (kind === 'a') return { revision, kind: 'alias', function: fn, alias: untoken(nameToken), record: live ? e.json<AliasRecord>() : undefined };
  return undefined;
}

/** Live feeds of one store, so closing the store ends them. */
export class NatsChanges {
  private readonly open = new Set<() => void>();

  constructor(private readonly kv: KV) {}

  watch(fromRevision: number): ChangeFeed {
    let stop: (() => void) | undefined;
    let closed = false;
    const close = (): void => {
      closed = true;
      this.open.delete(close);
      stop?.();
    };
    this.open.add(close);
    const kv = this.kv;
    let last = Math.max(0, Math.floor(fromRevision));
    async function* changes(): AsyncGenerator<Change> {
      // A watch that ends or fails while the feed is open (NATS restarted, the consumer lost)
      // starts again after the last change it delivered.
      while (!closed) {
        let iter: Awaited<ReturnType<KV['watch']>>;
        try {
          iter = await kv.watch({ key: '>', resumeFromRevision: last + 1 });
        } catch {
          await pause(500);
          continue;
        }
        stop = () => iter.stop();
        if (closed) iter.stop();
        try {
          for await (const e of iter) {
            if (closed) return;
            if (e.revision <= last) continue;
            last = e.revision;
            const c = changeOf(e);
            if (c) yield c;
          }
        } catch {
          // Watched again below.
        } finally {
          iter.stop();
        }
        if (!closed) await pause(500);
      }
    }
    const gen = changes();
    return {
      [Symbol.asyncIterator]: () => gen,
      close,
    };
  }

  /** Ends every open feed. */
  closeAll(): void {
    for (const close of [...this.open]) close();
  }
}
