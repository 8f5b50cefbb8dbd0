import { pipeline } from 'node:stream/promises';
import { Writable, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { FerryError } from '../errors/index.js';
import { attachBody, ByteCap, streamBudget } from './body-stream.js';
import { entryComponents, hardlinkComponents } from './entry-path.js';
import { TreeWriter, type UnpackLimits, type UnpackResult } from './tree-writer.js';

/** Largest pax / GNU long-name header accepted; real ones are a few hundred bytes. */
const MAX_META_ENTRY = 64 * 1024;

/**
 * Unpacks a tar (optionally gzip-compressed) body into `destDir`. Entries are parsed with
 * `tar.Parser` but written by `TreeWriter`, one at a time and in order, so every entry is
 * validated before anything of it reaches the disk.
 */
export async function unpackTar(body: Readable, gzip: boolean, destDir: string, limits: UnpackLimits): Promise<UnpackResult> {
  const budget = streamBudget(limits);
  const abort = new AbortController();
  const writer = new TreeWriter(destDir, limits, abort.signal);
  const parser = new Parser({ strict: false, brotli: false, zstd: false, maxMetaEntrySize: MAX_META_ENTRY });
  const sink = new ParserSink(parser);

  let failure: FerryError | undefined;
  let current: ReadEntry | undefined;
  let chain: Promise<void> = Promise.resolve();
  let sawEof = false;

  const fail = (err: unknown): void => {
    if (failure) return;
    failure = toArchiveError(err);
    abort.abort(failure); // unblocks a handler waiting for entry data that will never come
    current?.destroy();
    sink.destroy(failure);
    parser.abort(failure);
  };

  const parserDone = new Promise<void>((resolve) => {
    parser.once('end', () => resolve());
    parser.once('abort', () => resolve());
  });
  parser.on('error', () => {}); // abort() re-emits our own failure as 'error'
  parser.on('warn', (code: string, message: string) => {
    // An archive of nothing but the end marker is a valid empty tar; the parser still complains.
    if (code === 'TAR_BAD_ARCHIVE' && sawEof && message === 'Unrecognized archive format') return;
    fail(new FerryError('archive-invalid', `tar: ${message}`));
  });
  parser.on('eof', () => {
    sawEof = true;
    sink.eof = true;
  });
  parser.on('ignoredEntry', (entry: ReadEntry) => {
    // Only unknown entry types (and oversized meta headers) are ignored by the parser itself.
    chain = chain.then(() => {
      if (failure) return;
      if (entry.meta) return fail(new FerryError('archive-invalid', `tar: oversized ${entry.type} header`));
      writer.count();
      fail(new FerryError('archive-unsafe-entry', `unsupported entry type ${entry.header.typeKey} at ${entry.path}`));
    }).catch(fail);
  });
  parser.on('entry', (entry: ReadEntry) => {
    chain = chain.then(async () => {
      if (failure) return void entry.resume();
      current = entry;
      await writeEntry(writer, entry);
      current = undefined;
    }).catch(fail);
  });

  // The raw body and, for gzip, the decompressed stream are both capped: a bomb stops here even
  // if it only ever produces data the parser discards.
  const stages: Writable[] = gzip ? [new ByteCap(budget), createGunzip(), new ByteCap(budget), sink] : [new ByteCap(budget), sink];
  const detach = attachBody(body, stages[0] as Writable);

  try {
    await pipeline(stages as [Writable, ...Writable[]]);
    await parserDone;
  } catch (err) {
    fail(err);
  }
  await chain; // never leave a write in flight: the caller deletes destDir next
  if (failure) {
    detach(budget);
    throw failure;
  }
  try {
    return await writer.finish();
  } catch (err) {
    throw toArchiveError(err);
  }
}

/** Writes one parsed entry; the body of a file streams straight from the parser. */
async function writeEntry(writer: TreeWriter, entry: ReadEntry): Promise<void> {
  writer.count();
  const parts = entryComponents(entry.path);
  switch (entry.type) {
    case 'File':
    case 'OldFile':
    case 'ContiguousFile':
      await writer.file(parts, ((entry.mode ?? 0o644) & 0o100) !== 0, entry, entry.size);
      return;
    case 'Directory':
      entry.resume();
      return writer.dir(parts);
    case 'SymbolicLink':
      entry.resume();
      return writer.symlink(parts, entry.linkpath ?? '');
    case 'Link':
      entry.resume();
      return writer.hardlink(parts, hardlinkComponents(entry.linkpath ?? ''));
    default:
      throw new FerryError('archive-unsafe-entry', `${entry.type} entries are not allowed: ${entry.path}`);
  }
}

/**
 * Feeds the parser with back-pressure. The first bytes are checked for a gzip header because the
 * parser would silently decompress a second layer (or a mislabelled body) on its own.
 */
class ParserSink extends Writable {
  /** Set once the tar end marker was seen: what follows is padding and is discarded. */
  eof = false;
  private head = Buffer.alloc(0);

  constructor(private readonly parser: Parser) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.eof) return cb();
    if (this.head.length < 2) {
      this.head = Buffer.concat([this.head, chunk.subarray(0, 2 - this.head.length)]);
      if (this.head.length === 2 && this.head[0] === 0x1f && this.head[1] === 0x8b) {
        return cb(new FerryError('archive-invalid', 'the tar stream is itself gzip-compressed; send it as application/gzip'));
      }
    }
    if (this.parser.write(chunk)) cb();
    else this.parser.once('drain', () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.parser.end();
    cb();
  }
}

function toArchiveError(err: unknown): FerryError {
  if (err instanceof FerryError) return err;
  const e = err as Error;
  return new FerryError('archive-invalid', `the archive cannot be read: ${e?.message ?? String(err)}`, { cause: err });
}
