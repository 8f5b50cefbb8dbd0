/** `ferry traffic [name]`: the server's per-minute traffic of the last day (what the dashboard charts). */
import type { Command } from 'commander';
import { checkName } from '../args.js';
import { seg } from '../client.js';
import { formatTime, json, processIO, table, type IO } from '../output.js';
import { clientFor, connectionOptions } from './common.js';

interface Summary {
  function: string;
  requests: number;
  perSecond: number;
  errors: number;
  coldStarts: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

interface Point {
  time: string;
  requests: number;
  errors: number;
  coldStarts: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

const ms = (v: number | null): string => (v === null ? '-' : String(v));

export function register(program: Command, io: IO = processIO): void {
  connectionOptions(
    program
      .command('traffic')
      .description("requests, errors, cold starts and latency: every function's over the last minutes, or one function's per minute")
      .argument('[name]', "one function's series, per minute")
      .option('--minutes <n>', 'the window (default 5 for all functions, 60 for one)')
      .option('--json', 'print the raw JSON answer'),
  ).action(async (name: string | undefined, opts: { minutes?: string; json?: boolean }, cmd: Command) => {
    const q = opts.minutes === undefined ? '' : `?minutes=${encodeURIComponent(opts.minutes)}`;
    const client = clientFor(cmd);
    if (name === undefined) {
      const r = await client.json<{ minutes: number; functions: Summary[] }>('GET', `/v1/traffic${q}`);
      if (opts.json) return void io.stdout.write(json(r));
      if (r.functions.length === 0) return void io.stdout.write('No functions.\n');
      io.stdout.write(table(['FUNCTION', 'REQUESTS', 'REQ/S', 'ERRORS', 'COLD', 'P50 MS', 'P99 MS'], r.functions.map((f) => [f.function, String(f.requests), String(f.perSecond), String(f.errors), String(f.coldStarts), ms(f.p50Ms), ms(f.p99Ms)])));
      return;
    }
    const r = await client.json<{ function: string; series: Point[] }>('GET', `${seg`/v1/functions/${checkName('function', name)}/traffic`}${q}`);
    if (opts.json) return void io.stdout.write(json(r));
    if (r.series.length === 0) return void io.stdout.write('No traffic in that window.\n');
    io.stdout.write(table(['MINUTE', 'REQUESTS', 'ERRORS', 'COLD', 'P50 MS', 'P99 MS'], r.series.map((p) => [formatTime(p.time), String(p.requests), String(p.errors), String(p.coldStarts), ms(p.p50Ms), ms(p.p99Ms)])));
  });
}
