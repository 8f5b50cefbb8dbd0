import { FerryError } from '../../errors/index.js';
import { SERIES_MINUTES, SUMMARY_MINUTES, type TrafficSeries } from '../../observe/index.js';
import type { FunctionService } from '../../service/index.js';
import type { RouteDef } from '../route.js';

function minutesParam(raw: string | null, dflt: number, max: number): number {
  if (raw === null || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new FerryError('invalid-query', `minutes: an integer from 1 to ${max}`);
  return n;
}

/**
 * The server's per-minute traffic of the last day (kept in memory, `observe/traffic-series.ts`):
 * the dashboard's charts and the req/s, errors and latency columns of its function list.
 */
export function makeTrafficRoutes(svc: FunctionService, traffic: TrafficSeries): RouteDef[] {
  return [
    {
      method: 'GET', path: '/v1/traffic', tag: 'traffic',
      query: [{ name: 'minutes', description: `the window, 1 to ${SUMMARY_MINUTES} (default 5)`, type: 'integer' }],
      summary: 'Requests, req/s, errors (5xx), cold starts and latency p50/p99 over the last minutes, per function the caller may read',
      success: { status: 200, description: '`{minutes, functions: [{function, requests, perSecond, errors, coldStarts, p50Ms, p99Ms}]}`' },
      handler: async (c) => {
        const minutes = minutesParam(c.query.get('minutes'), 5, SUMMARY_MINUTES);
        const functions = (await svc.listFunctions(c.principal!)).map((f) => ({ function: f.name, ...traffic.summary(f.name, minutes, f.createdAt) }));
        return { body: { minutes, functions } };
      },
    },
    {
      method: 'GET', path: '/v1/functions/{name}/traffic', tag: 'traffic',
      query: [{ name: 'minutes', description: `how many minutes back, 1 to ${SERIES_MINUTES} (default 60)`, type: 'integer' }],
      summary: "The function's traffic per minute, oldest first: requests, errors (5xx), cold starts, latency p50/p99 (kept for a day, in memory)",
      success: { status: 200, description: '`{function, series: [{time, requests, errors, coldStarts, p50Ms, p99Ms}]}`' },
      handler: async (c) => {
        const f = await svc.getFunction(c.params.name!);
        // From its creation on: a deleted function of the same name (another group's, perhaps) is not this one.
        return { body: { function: f.name, series: traffic.series(f.name, minutesParam(c.query.get('minutes'), 60, SERIES_MINUTES), f.createdAt) } };
      },
    },
  ];
}
