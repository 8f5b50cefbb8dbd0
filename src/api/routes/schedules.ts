import type { ScheduleRecord } from '../../core/index.js';
import type { Schedules } from '../../service/index.js';
import type { RouteDef } from '../route.js';

function scheduleView(s: ScheduleRecord) {
  const iso = (n: number | null) => (n === null ? null : new Date(n).toISOString());
  return {
    function: s.function,
    id: s.id,
    cron: s.cron,
    timezone: s.timezone,
    body: s.contentType.startsWith('application/json') ? (JSON.parse(s.body.toString('utf8')) as unknown) : s.body.toString('utf8'),
    nextRun: iso(s.nextRun),
    lastRun: iso(s.lastRun),
    createdBy: s.createdBy,
    createdAt: iso(s.createdAt),
    updatedAt: iso(s.updatedAt),
  };
}

/** Cron schedules that create executions of a function. */
export function makeScheduleRoutes(schedules: Schedules): RouteDef[] {
  return [
    {
      method: 'PUT', path: '/v1/functions/{name}/schedules/{id}', tag: 'schedules', body: 'json',
      bodySchema: { type: 'object', required: ['cron'], properties: { cron: { type: 'string' }, body: {}, timezone: { type: 'string' } } },
      summary: 'Create or replace a cron schedule that creates executions',
      success: { status: 200, description: 'The schedule with its next run (201 when created)' },
      handler: async (c) => {
        const { rec, created } = await schedules.put(c.params.name!, c.params.id!, await c.json(), c.principal!.subject);
        return { status: created ? 201 : 200, body: scheduleView(rec) };
      },
    },
    {
      method: 'GET', path: '/v1/functions/{name}/schedules', tag: 'schedules',
      summary: "List a function's schedules with their next run",
      success: { status: 200, description: '`{schedules: [...]}`' },
      handler: async (c) => ({ body: { schedules: (await schedules.list(c.params.name!)).map(scheduleView) } }),
    },
    {
      method: 'GET', path: '/v1/functions/{name}/schedules/{id}', tag: 'schedules',
      summary: 'Get a schedule',
      success: { status: 200, description: 'The schedule' },
      handler: async (c) => ({ body: scheduleView(await schedules.get(c.params.name!, c.params.id!)) }),
    },
    {
      method: 'DELETE', path: '/v1/functions/{name}/schedules/{id}', tag: 'schedules',
      summary: 'Delete a schedule',
      success: { status: 204, description: 'Deleted' },
      handler: async (c) => {
        await schedules.remove(c.params.name!, c.params.id!);
        return { status: 204 };
      },
    },
  ];
}
