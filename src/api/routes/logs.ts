import { FerryError } from '../../errors/index.js';
import type { FunctionLogs, FunctionService, StoredLine } from '../../service/index.js';
import type { RouteDef } from '../route.js';

function lineView(l: StoredLine) {
  return { id: l.id ?? null, time: new Date(l.time).toISOString(), function: l.function, version: l.version, instance: l.instance, ...(l.node === undefined ? {} : { node: l.node }), stream: l.stream, requestId: l.requestId, line: l.line };
}

/** Function logs as NDJSON; `?follow=1` keeps the answer open and streams new lines. */
export function makeLogRoutes(svc: FunctionService, logs: FunctionLogs): RouteDef[] {
  return [
    {
      method: 'GET', path: '/v1/functions/{name}/logs', tag: 'logs',
      summary: 'Recent log lines of the function (NDJSON); follow=1 streams new ones',
      query: [
        { name: 'limit', description: 'most lines to return (default 100, max 10000)', type: 'integer' },
        { name: 'version', description: 'only this version' },
        { name: 'after', description: 'only lines with a larger id', type: 'integer' },
        { name: 'follow', description: '1: keep streaming new lines', type: 'boolean' },
      ],
      success: { status: 200, description: 'One JSON object per line', contentType: 'application/x-ndjson' },
      handler: async (c) => {
        const name = c.params.name!;
        await svc.getFunction(name);
        const limit = intParam(c.query.get('limit'), 100, 10_000, 'limit');
        const after = c.query.has('after') ? intParam(c.query.get('after'), 0, Number.MAX_SAFE_INTEGER, 'after') : undefined;
        const version = c.query.get('version') ?? undefined;
        const follow = /^(1|true|yes)$/i.test(c.query.get('follow') ?? '');
        const res = c.res;
        res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
        // A follower with no lines yet must still see the answer start.
        if (follow) res.flushHeaders();
        const matches = (l: StoredLine) => version === undefined || l.version === version;
        if (follow && logs.shared) {
          // Other nodes' lines arrive through the store only: the backlog, then what follows it.
          const backlog = await logs.query(name, { limit, afterId: after, version });
          for (const l of backlog) res.write(`${JSON.stringify(lineView(l))}\n`);
          const from = backlog.at(-1)?.id ?? after ?? (await logs.query(name, { limit: 1, version })).at(-1)?.id ?? 0;
          const stop = logs.tail(name, from, { version }, (l) => res.write(`${JSON.stringify(lineView(l))}\n`));
          c.req.once('close', stop);
          res.once('close', stop);
          return undefined;
        }
        if (follow) {
          // Subscribe before reading the backlog so nothing written in between is lost.
          const early: StoredLine[] = [];
          let live = false;
          const unsubscribe = logs.follow(name, (l) => {
            if (!matches(l)) return;
            if (live) res.write(`${JSON.stringify(lineView(l))}\n`);
            else early.push(l);
          });
          c.req.once('close', unsubscribe);
          res.once('close', unsubscribe);
          const backlog = await logs.query(name, { limit, afterId: after, version });
          for (const l of backlog) res.write(`${JSON.stringify(lineView(l))}\n`);
          const lastTime = backlog.at(-1)?.time ?? 0;
          for (const l of early) if (l.time >= lastTime && !backlog.some((b) => b.line === l.line && b.time === l.time && b.instance === l.instance)) res.write(`${JSON.stringify(lineView(l))}\n`);
          live = true;
          return undefined;
        }
        for (const l of await logs.query(name, { limit, afterId: after, version })) res.write(`${JSON.stringify(lineView(l))}\n`);
        res.end();
        return undefined;
      },
    },
  ];
}

function intParam(raw: string | null, dflt: number, max: number, name: string): number {
  if (raw === null || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new FerryError('invalid-query', `${name}: '${raw}' is not a non-negative integer`);
  return Math.min(n, max);
}
