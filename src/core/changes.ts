import type { AliasRecord, FunctionRecord, VersionRecord } from './records.js';

/**
 * One change to the state routing reads (a function with its owner, a version with its override,
 * an alias), at a store-wide revision. `record` is the value at or after that revision, or
 * undefined when the thing is gone (deleted, or its function deleted): a consumer that applies
 * the changes in order ends with what the store holds, whichever process wrote it.
 */
export type Change =
  | { revision: number; kind: 'function'; function: string; record: FunctionRecord | undefined }
  | { revision: number; kind: 'version'; function: string; version: string; record: VersionRecord | undefined }
  | { revision: number; kind: 'alias'; function: string; alias: string; record: AliasRecord | undefined };

/**
 * The feed cannot go on: the changes after its revision up to `revision` were pruned (a store
 * keeps only recent changes). The consumer reloads what it follows whole, then watches again
 * from the store's revision as it was before that reload. The feed ends after it.
 */
export interface Resync {
  kind: 'resync';
  revision: number;
}

/**
 * A live feed of changes after a revision, oldest first; it waits for new ones and ends only on
 * `close()`, when its store closes, or after a `Resync`. The changes of one key come in order; a
 * change may be followed by another of the same key that carries the same value (consumers apply
 * idempotently).
 */
export interface ChangeFeed extends AsyncIterable<Change | Resync> {
  close(): void;
}
