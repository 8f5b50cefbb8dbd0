/** `ferry schedules set|list|get|rm`: cron schedules that create executions of a function. */
import type { Command } from 'commander';
import { checkName } from '../args.js';
import { seg } from '../client.js';
import { usageError } from '../errors.js';
import { formatTime, json, processIO, str, table, type IO } from '../output.js';
import { clientFor, connectionOptions } from './common.js';

interface ScheduleView {
  id: string;
  cron: string;
  timezone?: string | null;
  body?: unknown;
  nextRun?: string | null;
  lastRun?: string | null;
}

/** The server checks the id; an empty one would name the list instead. */
function schedulePath(name: string, id?: string): string {
  checkName('function', name);
  if (id === undefined) return seg`/v1/functions/${name}/schedules`;
  if (!id) throw usageError('give a schedule id');
  return seg`/v1/functions/${name}/schedules/${id}`;
}

function schedulesTable(list: ScheduleView[]): string {
  if (list.length === 0) return 'No schedules.\n';
  return table(['ID', 'CRON', 'TIMEZONE', 'NEXT RUN', 'LAST RUN'], list.map((s) => [s.id, s.cron, str(s.timezone), formatTime(s.nextRun), formatTime(s.lastRun)]));
}

export function register(program: Command, io: IO = processIO): void {
  const group = program.command('schedules').description('cron schedules that run a function asynchronously');
  connectionOptions(
    group
      .command('set')
      .description('create or replace a schedule')
      .argument('<name>', 'function name')
      .argument('<id>', 'schedule id, e.g. nightly')
      .argument('<cron>', "cron expression, e.g. '0 3 * * *'")
      .option('-d, --data <json-or-text>', 'the request body of each run (JSON when it parses)')
      .option('--timezone <tz>', 'IANA time zone of the expression, e.g. Europe/Paris (default UTC)')
      .option('--json', 'print the raw JSON answer'),
  ).action(async (name: string, id: string, cron: string, opts: { data?: string; timezone?: string; json?: boolean }, cmd: Command) => {
    const body: Record<string, unknown> = { cron };
    if (opts.data !== undefined) {
      try {
        body.body = JSON.parse(opts.data) as unknown;
      } catch {
        body.body = opts.data;
      }
    }
    if (opts.timezone !== undefined) body.timezone = opts.timezone;
    const s = await clientFor(cmd).json<ScheduleView>('PUT', schedulePath(name, id), body);
    io.stdout.write(opts.json ? json(s) : `${name}: schedule ${s.id} '${s.cron}', next run ${formatTime(s.nextRun)}\n`);
  });
  connectionOptions(group.command('list', { isDefault: true }).alias('ls').description("list a function's schedules").argument('<name>', 'function name').option('--json', 'print the raw JSON answer')).action(
    async (name: string, opts: { json?: boolean }, cmd: Command) => {
      const r = await clientFor(cmd).json<{ schedules: ScheduleView[] }>('GET', schedulePath(name));
      io.stdout.write(opts.json ? json(r) : schedulesTable(r.schedules));
    },
  );
  connectionOptions(group.command('get').description('show a schedule').argument('<name>', 'function name').argument('<id>', 'schedule id').option('--json', 'print the raw JSON answer')).action(
    async (name: string, id: string, opts: { json?: boolean }, cmd: Command) => {
      const s = await clientFor(cmd).json<ScheduleView>('GET', schedulePath(name, id));
      io.stdout.write(opts.json ? json(s) : `${schedulesTable([s])}body: ${JSON.stringify(s.body ?? null)}\n`);
    },
  );
  connectionOptions(group.command('rm').alias('delete').description('delete a schedule').argument('<name>', 'function name').argument('<id>', 'schedule id')).action(
    async (name: string, id: string, _opts: unknown, cmd: Command) => {
      await clientFor(cmd).json('DELETE', schedulePath(name, id));
      io.stdout.write(`${name}: deleted schedule ${id}\n`);
    },
  );
}
