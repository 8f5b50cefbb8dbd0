import type { Readable } from 'node:stream';

/** A blob's address: `sha256:` and the 64 hex digits of the sha256 of its bytes. */
export const blobDigestPattern = /^sha256:[0-9a-f]{64}$/;

/** What is stored under a digest. */
export interface BlobInfo {
  digest: string;
  /** Bytes of the blob. */
  size: number;
}

/** What a `put` reads: a stream, any async iterable of bytes, or the bytes themselves. */
export type BlobSource = Readable | AsyncIterable<Uint8Array> | Uint8Array;

/**
 * Content-addressed blobs: package trees and their files today, images and objects later. A
 * blob's key is the sha256 of its bytes, so a blob written by one node is the same blob on every
 * other, and nothing is ever overwritten with different content. Implementations: `blobs/local/`
 * (files in the data dir); each runs `blobs/blob-store.suite.ts`.
 */
export interface BlobStore {
  /**
   * Stores `source` under `digest` if its bytes hash to it; otherwise rejects with
   * `blob-digest-mismatch` and stores nothing. Never shows a half-written blob: a reader sees
   * the whole blob or none. Idempotent: putting a stored blob again (or at the same time) is fine.
   */
  put(digest: string, source: BlobSource): Promise<BlobInfo>;
  /** `put` of a file's contents. */
  putFile(digest: string, path: string): Promise<BlobInfo>;
  /** The blob's bytes; rejects with `blob-not-found` when it is not stored. */
  get(digest: string): Promise<Readable>;
  has(digest: string): Promise<boolean>;
  /** Bytes of a stored blob; undefined when it is not stored. */
  size(digest: string): Promise<number | undefined>;
  /** Removes a blob; a missing one is fine. */
  delete(digest: string): Promise<void>;
  /** Every stored blob, in no particular order (for pruning). */
  list(): AsyncIterable<BlobInfo>;
  /**
   * The file on this host that holds the blob, for a hard link instead of a copy; only a store
   * of local files has one. The file is never written again once stored (a put of the same
   * digest renames a new file over the name), so a link keeps the bytes it was made to.
   */
  localFile?(digest: string): string;
  close?(): Promise<void>;
}
