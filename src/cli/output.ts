/** Output helpers: aligned tables, sizes, times, log lines and the upload progress display. */
import type { Writable } from 'node:stream';
import { formatBytes } from '../util/format-bytes.js';

export { formatBytes };

/** Where a command writes; tests pass their own streams. */
export interface IO {
  stdout: Writable;
  stderr: Writable & { isTTY?: boolean };
}

export const processIO: IO = { stdout: process.stdout, stderr: process.stderr };

/** Columns separated by two spaces; the last column is not padded. */
export function table(headers: string[], rows: string[][]): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd())
    .join('\n') + '\n';
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

/** An ISO time from a number (ms since epoch) or a date string; `-` when absent or unparsable. */
export function formatTime(t: unknown): string {
  if (t === undefined || t === null || t === '') return '-';
  const d = new Date(typeof t === 'number' || typeof t === 'string' ? t : NaN);
  return Number.isNaN(d.getTime()) ? String(t) : d.toISOString();
}

export function str(v: unknown): string {
  if (v === undefined || v === null) return '-';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

export interface LogEntry {
  id?: unknown;
  time?: unknown;
  function?: string;
  version?: string;
  instance?: string | null;
  stream?: string;
  requestId?: string | null;
  line?: string;
  node?: string;
}

/** `<ISO time> <version>/<instance short> [<requestId>] <line>` */
export function formatLogEntry(e: LogEntry): string {
  const instance = e.instance ? String(e.instance).slice(0, 8) : '-';
  const req = e.requestId ? String(e.requestId) : '-';
  // In a cluster a line names the node its instance ran on.
  const node = e.node ? `@${String(e.node).slice(0, 8)}` : '';
  return `${formatTime(e.time)} ${e.version ?? '-'}/${instance}${node} [${req}] ${e.line ?? ''}`;
}

/**
 * Upload progress on stderr: a live `\r` line when stderr is a terminal (redrawn at most every
 * 100 ms), else one line once it is done.
 */
export function progress(stderr: IO['stderr'], label: string): { update(done: number, total: number): void; finish(done: number): void } {
  const tty = stderr.isTTY === true;
  let last = 0;
  const draw = (done: number, total: number): void => {
    const pct = total > 0 ? Math.floor((done / total) * 100) : 100;
    stderr.write(`\r${label}: ${String(pct).padStart(3)}% (${formatBytes(done)} / ${formatBytes(total)})\x1b[K`);
  };
  return {
    update(done, total) {
      if (!tty) return;
      const now = Date.now();
      if (done < total && now - last < 100) return;
      last = now;
      draw(done, total);
    },
    finish(done) {
      if (tty) {
        draw(done, done);
        stderr.write('\n');
      } else {
        stderr.write(`${label}: ${formatBytes(done)} sent\n`);
      }
    },
  };
}

/** Writes `chunk`, waiting for `drain` when the stream buffers. */
export async function writeChunk(out: Writable, chunk: Uint8Array | string): Promise<void> {
  if (out.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      out.off('drain', done);
      out.off('error', done);
      out.off('close', done);
      if (err) reject(err);
      else resolve();
    };
    out.on('drain', done);
    out.on('error', done);
    out.on('close', done);
  });
}
