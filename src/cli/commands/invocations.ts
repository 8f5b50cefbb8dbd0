/** `ferry invocations list|get`: the history of calls, synchronous and asynchronous. */
import type { Command } from 'commander';
import { checkName } from '../args.js';
import { seg } from '../client.js';
import { formatTime, json, processIO, str, table, type IO } from '../output.js';
import { clientFor, connectionOptions } from './common.js';

interface InvocationView {
  id: string;
  time: string;
  function: string;
  version: string;
  kind: string;
  status: number;
  durationMs: number;
  method?: string;
  path?: string;
  requestId?: string | null;
  executionId?: string | null;
  request?: { body: string; encoding: string } | null;
  response?: { body: string; encoding: string } | null;
}

function invocationsTable(list: InvocationView[]): string {
  if (list.length === 0) return 'No invocations.\n';
  return table(
    ['ID', 'TIME', 'FUNCTION', 'VERSION', 'KIND', 'STATUS', 'MS', 'REQUEST'],
    list.map((i) => [i.id, formatTime(i.time), i.function, i.version, i.kind, String(i.status), String(i.durationMs), `${str(i.method)} ${str(i.path)}`]),
  );
}

export function register(program: Command, io: IO = processIO): void {
  const group = program.command('invocations').description('the invocation history: recent calls with status and latency');
  connectionOptions(
    group
      .command('list', { isDefault: true })
      .alias('ls')
      .description('recent invocations, newest first')
      .option('--function <name>', 'only this function')
      .option('--limit <n>', 'at most this many (1-1000, default 100)')
      .option('--cursor <cursor>', 'the page after this cursor (printed after a full page)')
      .option('--json', 'print the raw JSON answer'),
  ).action(async (opts: { function?: string; limit?: string; cursor?: string; json?: boolean }, cmd: Command) => {
    const q = new URLSearchParams();
    if (opts.function !== undefined) q.set('function', checkName('function', opts.function));
    if (opts.limit !== undefined) q.set('limit', opts.limit);
    if (opts.cursor !== undefined) q.set('cursor', opts.cursor);
    const r = await clientFor(cmd).json<{ invocations: InvocationView[]; nextCursor: string | null }>('GET', `/v1/invocations${q.size ? `?${q}` : ''}`);
    if (opts.json) return void io.stdout.write(json(r));
    io.stdout.write(invocationsTable(r.invocations));
    if (r.nextCursor) io.stderr.write(`more: --cursor ${r.nextCursor}\n`);
  });
  connectionOptions(group.command('get').description('one invocation, with its bodies when the function records payloads').argument('<id>', 'invocation id').option('--json', 'print the raw JSON answer')).action(
    async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const r = await clientFor(cmd).json<InvocationView>('GET', seg`/v1/invocations/${id}`);
      if (opts.json) return void io.stdout.write(json(r));
      let out = invocationsTable([r]);
      if (r.executionId) out += `execution: ${r.executionId}\n`;
      for (const part of ['request', 'response'] as const) {
        const b = r[part];
        if (b) out += `${part} (${b.encoding}):\n${b.body}${b.body.endsWith('\n') ? '' : '\n'}`;
      }
      io.stdout.write(out);
    },
  );
}
