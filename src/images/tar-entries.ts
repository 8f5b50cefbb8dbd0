import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Parser, ReadEntry } from 'tar';
import { FerryError } from '../errors/index.js';

/** Largest pax / GNU long-name header accepted; real ones are a few hundred bytes. */
const MAX_META_ENTRY = 64 * 1024;

/**
 * Streams a plain (already decompressed) tar through `onEntry`, one entry at a time and in order:
 * the next entry is parsed only once the handler has consumed (or resumed) this one's data, so an
 * image archive or a layer is never held in memory. Everything after the end marker is read (a
 * layer's digest covers its padding) but ignored. `signal` aborts when the tar fails, so a
 * handler reading an entry's data must read it through `abortable`. A broken tar, an entry type the parser does not
 * know, or a handler's error stops it; `what` names the tar in the error (`image-invalid`).
 */
export async function forEachTarEntry(source: Readable, what: string, onEntry: (entry: ReadEntry, signal: AbortSignal) => Promise<void>): Promise<void> {
  const abort = new AbortController();
  // Loaded with the first image: a server that never takes one never needs `tar`.
  const { Parser: TarParser } = await import('tar');
  const parser = new TarParser({ strict: false, brotli: false, zstd: false, maxMetaEntrySize: MAX_META_ENTRY });
  const sink = new ParserSink(parser, what);
  let failure: unknown;
  let current: ReadEntry | undefined;
  let chain: Promise<void> = Promise.resolve();

  const fail = (err: unknown): void => {
    if (failure) return;
    failure = err;
    abort.abort(err); // unblocks a handler waiting for data that will never come
    current?.destroy();
    sink.destroy(err as Error);
    parser.abort(err as Error);
  };
  const parserDone = new Promise<void>((resolve) => {
    parser.once('end', () => resolve());
    parser.once('abort', () => resolve());
  });
  parser.on('error', () => {}); // abort() re-emits our own failure as 'error'
  parser.on('warn', (code: string, message: string) => {
    // A tar of nothing but the end marker is valid (an empty layer); the parser still complains.
    if (code === 'TAR_BAD_ARCHIVE' && sink.eof && message === 'Unrecognized archive format') return;
    fail(new FerryError('image-invalid', `${what}: tar: ${message}`));
  });
  parser.on('eof', () => void (sink.eof = true));
  parser.on('ignoredEntry', (entry: ReadEntry) => {
    chain = chain.then(() => fail(new FerryError('image-invalid', `${what}: entry ${entry.path}: unsupported entry type ${entry.header.typeKey ?? entry.type}`)));
  });
  parser.on('entry', (entry: ReadEntry) => {
    chain = chain
      .then(async () => {
        if (failure) return void entry.resume();
        current = entry;
        await onEntry(entry, abort.signal);
        current = undefined;
      })
      .catch(fail);
  });

  try {
    await pipeline(source, sink);
    await parserDone;
  } catch (err) {
    fail(err);
  }
  await chain; // never leave a write in flight: the caller deletes the tree next
  if (failure) throw failure;
}

/**
 * Feeds the parser with back-pressure. A gzip header here means a second compression the parser
 * would silently undo on its own: refused, as what was hashed would not be what is unpacked.
 */
class ParserSink extends Writable {
  /** Set once the tar end marker was seen: what follows is padding and is discarded. */
  eof = false;
  private sniffed = false;

  constructor(
    private readonly parser: Parser,
    private readonly what: string,
  ) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.eof) return cb();
    if (!this.sniffed && chunk.length >= 2) {
      this.sniffed = true;
      if (chunk[0] === 0x1f && chunk[1] === 0x8b) return cb(new FerryError('image-invalid', `${this.what} is gzip-compressed where a plain tar belongs (gunzip it first)`));
    }
    if (this.parser.write(chunk)) cb();
    else this.parser.once('drain', () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.parser.end();
    cb();
  }
}
