/** `ferry logs <name> [-f] [--version V]`: print (and follow) a function's log lines. */
import type { Command } from 'commander';
import { checkName } from '../args.js';
import { apiError, lines, seg, type Client } from '../client.js';
import { formatLogEntry, processIO, writeChunk, type IO, type LogEntry } from '../output.js';
import { clientFor, connectionOptions } from './common.js';

export interface LogsArgs {
  name: string;
  follow?: boolean | undefined;
  version?: string | undefined;
  signal?: AbortSignal | undefined;
}

export function logsPath(args: LogsArgs): string {
  checkName('function', args.name);
  if (args.version !== undefined) checkName('version', args.version);
  const q = new URLSearchParams();
  if (args.version !== undefined) q.set('version', args.version);
  if (args.follow) q.set('follow', '1');
  const qs = q.toString();
  return seg`/v1/functions/${args.name}/logs` + (qs ? `?${qs}` : '');
}

/**
 * Calls `onLine` with each NDJSON line of the answer (the parsed entry, or undefined when a line is
 * not JSON) as it arrives; with `follow` that lasts until the server ends it or `signal` aborts.
 */
export async function streamLogs(client: Client, args: LogsArgs, onLine: (entry: LogEntry | undefined, raw: string) => void | Promise<void>): Promise<void> {
  const init: { headers: Record<string, string>; signal?: AbortSignal } = { headers: { accept: 'application/x-ndjson' } };
  if (args.signal) init.signal = args.signal;
  const res = await client.fetch('GET', logsPath(args), init);
  if (!res.ok) throw apiError(res.status, res.statusText, res.headers.get('content-type'), await res.text(), client.token);
  if (!res.body) return;
  try {
    for await (const raw of lines(res.body as unknown as AsyncIterable<Uint8Array>)) {
      if (!raw.trim()) continue;
      let entry: LogEntry | undefined;
      try {
        const v: unknown = JSON.parse(raw);
        entry = v && typeof v === 'object' ? (v as LogEntry) : undefined;
      } catch {
        entry = undefined;
      }
      await onLine(entry, raw);
    }
  } catch (err) {
    if (args.signal?.aborted) return;
    throw err;
  }
}

export function register(program: Command, io: IO = processIO): void {
  connectionOptions(
    program
      .command('logs')
      .description("print a function's log lines")
      .argument('<name>', 'function name')
      .option('-f, --follow', 'keep printing new lines as they arrive (Ctrl-C to stop)')
      .option('--version <version>', 'only lines of this version')
      .option('--json', 'print the raw NDJSON lines'),
  ).action(async (name: string, opts: { follow?: boolean; version?: string; json?: boolean }, cmd: Command) => {
    await streamLogs(clientFor(cmd), { name, follow: opts.follow === true, version: opts.version }, async (entry, raw) => {
      await writeChunk(io.stdout, `${opts.json || !entry ? raw : formatLogEntry(entry)}\n`);
    });
  });
}
