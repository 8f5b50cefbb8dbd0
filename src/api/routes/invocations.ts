import type { InvocationRecord } from '../../core/index.js';
import { FerryError } from '../../errors/index.js';
import type { InvocationHistory } from '../../service/index.js';
import type { RouteDef } from '../route.js';

function summary(r: InvocationRecord) {
  return {
    id: r.id,
    time: new Date(r.time).toISOString(),
    function: r.function,
    version: r.version,
    kind: r.kind,
    status: r.status,
    durationMs: Math.round(r.durationMs * 1000) / 1000,
    requestId: r.requestId,
    executionId: r.executionId,
    method: r.method,
    path: r.path,
  };
}

/** A body as JSON can carry it: UTF-8 text when it is, base64 otherwise. */
function body(b: Buffer | null): { body: string; encoding: 'utf8' | 'base64' } | null {
  if (b === null) return null;
  const text = b.toString('utf8');
  return Buffer.from(text, 'utf8').equals(b) ? { body: text, encoding: 'utf8' } : { body: b.toString('base64'), encoding: 'base64' };
}

/** The invocation history: recent calls of the functions the caller may read. */
export function makeInvocationRoutes(history: InvocationHistory): RouteDef[] {
  return [
    {
      method: 'GET', path: '/v1/invocations', tag: 'invocations',
      query: [
        { name: 'function', description: 'only this function' },
        { name: 'cursor', description: 'the nextCursor of the previous page' },
        { name: 'limit', description: 'at most this many (1-1000, default 100)', type: 'integer' },
      ],
      summary: 'Recent invocations, sync and async, newest first',
      success: { status: 200, description: '`{invocations: [...], nextCursor}`' },
      handler: async (c) => {
        const limitText = c.query.get('limit');
        const limit = limitText === null ? 100 : Number(limitText);
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new FerryError('invalid-query', 'limit: an integer from 1 to 1000');
        const fn = c.query.get('function') ?? undefined;
        const cursor = c.query.get('cursor') ?? undefined;
        const list = await history.list(c.principal!, { ...(fn ? { function: fn } : {}), ...(cursor ? { before: cursor } : {}), limit });
        return { body: { invocations: list.map(summary), nextCursor: list.length === limit ? list.at(-1)!.id : null } };
      },
    },
    {
      method: 'GET', path: '/v1/invocations/{id}', tag: 'invocations',
      summary: 'One invocation; with its request and response bodies when the function records payloads',
      success: { status: 200, description: 'The invocation' },
      handler: async (c) => {
        const r = await history.get(c.principal!, c.params.id!);
        return { body: { ...summary(r), request: body(r.requestBody), response: body(r.responseBody), truncated: r.truncated } };
      },
    },
  ];
}
