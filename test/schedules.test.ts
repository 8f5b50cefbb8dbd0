/** Cron schedules against the real server: they create executions, and a missed run runs once. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFerry, disposeFerry, sleep, type Ferry } from './support/ferry.js';
import { expectProblem, nodeFn, until } from './support/helpers.js';

interface Sched {
  id: string;
  cron: string;
  timezone: string | null;
  nextRun: string | null;
  lastRun: string | null;
  body: unknown;
}
interface Exec {
  id: string;
  status: string;
}

let ferry: Ferry;
before(async () => {
  ferry = await startFerry({ args: ['--driver', 'process', '--unsandboxed'] });
  await ferry.deploy('tick', nodeFn('export default async (req) => "tick:" + (await req.text());'));
});
after(() => disposeFerry(ferry));

const executions = async (fn: string): Promise<Exec[]> => ((await (await ferry.api('GET', `/v1/executions?function=${fn}`)).json()) as { executions: Exec[] }).executions;

test('PUT creates a schedule with its next run; bad expressions and zones are 422; GET lists; DELETE removes', async () => {
  const res = await ferry.api('PUT', '/v1/functions/tick/schedules/hourly', { cron: '0 * * * *', body: { hello: 1 }, timezone: 'Europe/Berlin' });
  assert.equal(res.status, 201);
  const s = (await res.json()) as Sched;
  assert.equal(s.timezone, 'Europe/Berlin');
  assert.deepEqual(s.body, { hello: 1 });
  const next = Date.parse(s.nextRun!);
  assert.ok(next > Date.now() && next <= Date.now() + 3_600_000, s.nextRun!);
  assert.equal(new Date(next).getUTCMinutes(), 0);
  await expectProblem(await ferry.api('PUT', '/v1/functions/tick/schedules/bad', { cron: 'not a cron' }), 422, 'invalid-body');
  await expectProblem(await ferry.api('PUT', '/v1/functions/tick/schedules/bad', { cron: '* * * * *', timezone: 'Mars/Olympus' }), 422, 'invalid-body');
  await expectProblem(await ferry.api('PUT', '/v1/functions/nope/schedules/x', { cron: '* * * * *' }), 404, 'function-not-found');
  const l = (await (await ferry.api('GET', '/v1/functions/tick/schedules')).json()) as { schedules: Sched[] };
  assert.deepEqual(l.schedules.map((x) => x.id), ['hourly']);
  assert.equal((await ferry.api('DELETE', '/v1/functions/tick/schedules/hourly')).status, 204);
  await expectProblem(await ferry.api('DELETE', '/v1/functions/tick/schedules/hourly'), 404, 'schedule-not-found');
});

test('a schedule creates executions on time (a six-field expression fires every second)', async () => {
  assert.equal((await ferry.api('PUT', '/v1/functions/tick/schedules/fast', { cron: '* * * * * *', body: 'beat' })).status, 201);
  const done = await until(async () => {
    const e = await executions('tick');
    return e.filter((x) => x.status === 'succeeded').length >= 2 ? e : undefined;
  }, 10_000, 200);
  assert.ok(done, 'two runs within 10 s');
  const one = (await (await ferry.api('GET', `/v1/executions/${done!.find((x) => x.status === 'succeeded')!.id}`)).json()) as { result: { body: string } };
  assert.match(JSON.stringify(one), /tick:beat/);
  assert.equal((await ferry.api('DELETE', '/v1/functions/tick/schedules/fast')).status, 204);
});

test('a run missed while the server was down runs once at start', async () => {
  await ferry.deploy('missed', nodeFn("export default () => 'ran';"));
  // A yearly schedule whose one run falls 3 s from now, while the server is down.
  const at = new Date(Date.now() + 3000);
  const cron = `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} ${at.getUTCDate()} ${at.getUTCMonth() + 1} *`;
  assert.equal((await ferry.api('PUT', '/v1/functions/missed/schedules/once', { cron })).status, 201);
  const dataDir = ferry.dataDir;
  assert.equal(await ferry.stop(), 0);
  await sleep(4500);
  ferry = await startFerry({ dataDir, args: ['--driver', 'process', '--unsandboxed'] });
  const runs = await until(async () => {
    const e = await executions('missed');
    return e.length >= 1 && e.every((x) => x.status === 'succeeded') ? e : undefined;
  }, 10_000, 200);
  assert.ok(runs, 'the missed run ran');
  await sleep(1500);
  assert.equal((await executions('missed')).length, 1, 'exactly once');
  const s = (await (await ferry.api('GET', '/v1/functions/missed/schedules/once')).json()) as Sched;
  assert.ok(s.lastRun);
  assert.ok(s.nextRun === null || Date.parse(s.nextRun) > Date.now() + 86_400_000, 'the next run is next year');
});
