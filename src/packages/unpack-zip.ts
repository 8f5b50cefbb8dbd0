import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import { FerryError } from '../errors/index.js';
import { attachBody, ByteCap, streamBudget } from './body-stream.js';
import { entryComponents } from './entry-path.js';
import { TreeWriter, type UnpackLimits, type UnpackResult } from './tree-writer.js';

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

/** Longest symlink target read from a zip entry (Linux' PATH_MAX). */
const MAX_LINK_TARGET = 4096;

/**
 * Unpacks a zip body into `destDir`. Zip needs random access (the central directory is at the
 * end), so the body is spooled to a temp file beside `destDir` first (same disk, not tmpfs) and
 * removed afterwards whatever happens.
 */
export async function unpackZip(body: Readable, destDir: string, limits: UnpackLimits): Promise<UnpackResult> {
  const tmp = join(dirname(destDir), `.upload-${randomBytes(8).toString('hex')}.zip`);
  try {
    await spool(body, tmp, streamBudget(limits));
    return await extract(tmp, destDir, limits);
  } finally {
    await rm(tmp, { force: true });
  }
}

async function spool(body: Readable, file: string, budget: number): Promise<void> {
  const cap = new ByteCap(budget);
  const detach = attachBody(body, cap);
  try {
    await pipeline(cap, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
  } catch (err) {
    detach(Math.max(0, budget - cap.seen));
    if (err instanceof FerryError) throw err;
    if ((err as NodeJS.ErrnoException).syscall) throw new FerryError('internal', 'spooling the zip failed', { cause: err });
    throw toArchiveError(err);
  }
}

async function extract(file: string, destDir: string, limits: UnpackLimits): Promise<UnpackResult> {
  let zip: yauzl.ZipFile;
  try {
    // decodeStrings off: yauzl would reject unsafe names with a generic error; we decode and
    // judge them ourselves so each problem gets its own code. validateEntrySizes off: yauzl would
    // fail a lying bomb as "too many bytes"; the writer's byte cap reports it as too large, and
    // writeEntry checks the sizes itself once an entry is complete.
    zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: false });
  } catch (err) {
    throw toArchiveError(err);
  }
  try {
    if (zip.entryCount > limits.maxEntries) {
      throw new FerryError('archive-too-many-entries', `the archive holds ${zip.entryCount} entries, more than ${limits.maxEntries}`);
    }
    const writer = new TreeWriter(destDir, limits);
    for await (const entry of zip.eachEntry()) {
      writer.count();
      await writeEntry(zip, writer, entry);
    }
    return await writer.finish();
  } catch (err) {
    throw toArchiveError(err);
  } finally {
    zip.close();
  }
}

async function writeEntry(zip: yauzl.ZipFile, writer: TreeWriter, entry: yauzl.Entry): Promise<void> {
  const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, false);
  const parts = entryComponents(name);
  // Unix tools keep st_mode in the high half of the external attributes; DOS ones leave it 0.
  const mode = entry.externalFileAttributes >>> 16;
  const type = mode & S_IFMT;
  if (type !== 0 && type !== S_IFREG && type !== S_IFDIR && type !== S_IFLNK) {
    throw new FerryError('archive-unsafe-entry', `special file (mode ${mode.toString(8)}) not allowed: ${name}`);
  }
  if (type === S_IFLNK) {
    return writer.symlink(parts, await readLinkTarget(zip, entry, name));
  }
  if (type === S_IFDIR || name.endsWith('/')) return writer.dir(parts);
  writer.checkDeclared(entry.uncompressedSize); // before inflating anything
  const stream = await zip.openReadStreamPromise(entry);
  // yauzl's inflate stream can still emit an error after we stopped reading it (its destroy does
  // not stop zlib); the iteration below sees every error that matters.
  stream.on('error', () => {});
  try {
    const written = await writer.file(parts, (mode & 0o100) !== 0, stream, entry.uncompressedSize);
    if (written !== entry.uncompressedSize) {
      throw new FerryError('archive-invalid', `${name} holds ${written} bytes but declares ${entry.uncompressedSize}`);
    }
  } finally {
    stream.destroy();
  }
}

async function readLinkTarget(zip: yauzl.ZipFile, entry: yauzl.Entry, name: string): Promise<string> {
  if (entry.uncompressedSize > MAX_LINK_TARGET) throw new FerryError('archive-invalid', `symlink target too long: ${name}`);
  const stream = await zip.openReadStreamPromise(entry);
  stream.on('error', () => {}); // as in writeEntry
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_LINK_TARGET) throw new FerryError('archive-invalid', `symlink target too long: ${name}`);
      chunks.push(chunk);
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).toString('utf8');
}

function toArchiveError(err: unknown): FerryError {
  if (err instanceof FerryError) return err;
  return new FerryError('archive-invalid', `the zip cannot be read: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}
