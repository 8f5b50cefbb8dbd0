/** Receiving an object's body into a file: what both stores do before they commit an object. */
import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { FerryError } from '../errors/index.js';

/**
 * Streams `body` into a new file `tmp` (0600), hashing and counting, and fails with
 * `object-too-large` past `maxBytes` (whatever the client declared). With `durable`, fsynced
 * before it answers. On failure the file is removed.
 */
export async function receiveObject(tmp: string, body: AsyncIterable<Uint8Array>, maxBytes: number, durable: boolean): Promise<{ sha: string; size: number }> {
  const fh = await open(tmp, 'wx', 0o600);
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of body) {
      size += chunk.length;
      if (size > maxBytes) throw new FerryError('object-too-large', `the object exceeds the limit of ${maxBytes} bytes (--object-max-bytes)`);
      hash.update(chunk);
      for (let off = 0; off < chunk.length; ) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
    }
    if (durable) await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  return { sha: hash.digest('hex'), size };
}
