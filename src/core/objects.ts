import type { Readable } from 'node:stream';
import { FerryError } from '../errors/index.js';

/** One stored object of a function: its key and what the index keeps about its content. */
export interface ObjectRecord {
  function: string;
  key: string;
  /** sha256 of the content, hex: the blob's address and the ETag. */
  sha256: string;
  size: number;
  contentType: string;
  createdAt: number;
  updatedAt: number;
}

export interface ObjectPutOptions {
  contentType: string;
  /** Bytes one object may have; more fails with `object-too-large` while streaming. */
  maxBytes: number;
  /** Bytes all objects of the function may have together (0: no limit); `quota-exceeded`. */
  quotaBytes: number;
  now: number;
}

/**
 * Per-function objects (`store.objects`). Bodies stream in and out; the store counts and hashes
 * what it writes, so a cap holds whatever the client declared. The embedded store keeps an index
 * in SQLite and content-addressed blobs in the data dir; a JetStream store maps it onto an object
 * store bucket. Deleting a function (`Store.deleteFunction`) deletes its objects.
 */
export interface ObjectStore {
  /**
   * Stores `body` under the key, replacing what was there, once all of it arrived. Throws
   * `object-too-large`, `quota-exceeded`, or `function-not-found` if the function is gone; a
   * failed or aborted put leaves the previous object as it was.
   */
  put(fn: string, key: string, body: AsyncIterable<Uint8Array>, opts: ObjectPutOptions): Promise<{ record: ObjectRecord; created: boolean }>;
  head(fn: string, key: string): Promise<ObjectRecord | undefined>;
  /** The record and a stream of the content as it was when asked (a later put does not change it). */
  get(fn: string, key: string): Promise<{ record: ObjectRecord; body: Readable } | undefined>;
  delete(fn: string, key: string): Promise<boolean>;
  /** Keys starting with `prefix` and sorting after `after` (byte order), at most `limit`, ascending. */
  list(fn: string, opts: { prefix: string; after: string; limit: number }): Promise<ObjectRecord[]>;
  usage(fn: string): Promise<{ objects: number; bytes: number }>;
}

/** Longest key, in UTF-8 bytes. */
export const maxObjectKeyBytes = 1024;

/**
 * Keys are 1 to 1024 bytes of UTF-8, segments separated by `/`, no empty, `.` or `..` segment
 * (a key reads like a relative path and must never act like one), no control characters.
 */
export function checkObjectKey(key: string): void {
  const bad = (why: string): never => {
    throw new FerryError('invalid-key', `object key ${JSON.stringify(key.slice(0, 80))} ${why}`);
  };
  if (key.length === 0) bad('is empty');
  if (Buffer.byteLength(key) > maxObjectKeyBytes) bad(`is longer than ${maxObjectKeyBytes} bytes`);
  // C0, DEL and C1 controls; lone surrogates cannot be stored as UTF-8.
  if (/[\u0000-\u001f\u007f-\u009f]/.test(key)) bad('contains a control character');
  if (/\p{Cs}/u.test(key)) bad('is not valid Unicode');
  for (const seg of key.split('/')) {
    if (seg === '') bad('has an empty segment (a leading, trailing or doubled /)');
    if (seg === '.' || seg === '..') bad(`has a '${seg}' segment`);
  }
}
