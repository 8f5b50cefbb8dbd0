/**
 * Fault tests of asynchronous executions: `kill -9` of the server while it drains thousands of
 * them (every execution answered 202 must still succeed, none missing, duplicate runs counted),
 * and an instance killed in the middle of a run (the run is retried and succeeds).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { startFerry, disposeFerry, type Ferry } from './support/ferry.js';
import { nodeFn } from './support/helpers.js';
import { submitMany, type Submitted } from './support/async-load.js';
import { waitFor } from './support/wait.js';
import { listInstances } from './support/fn.js';

const N = 5000;

/**
 * Each run leaves evidence of itself: the object `runs/{execution}/{run}` (a random run id),
 * written through the instance API before it answers, and the same ids in its answer. A line in
 * a file beside it only tells the test how far the drain got, so it knows when to kill.
 */
const runsSource = `import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
export default async (req, ctx) => {
  const run = randomBytes(8).toString('hex');
  await ctx.objects.put('runs/' + ctx.requestId + '/' + run, run);
  appendFileSync(join(process.env.RUNS_DIR, 'progress.log'), '.');
  return { execution: ctx.requestId, run };
};
`;

interface Summary {
  id: string;
  status: string;
  attempts: number;
  lostRuns: number;
}

/** Every execution of `fn` (newest first), all pages. */
async function allExecutions(ferry: Ferry, fn: string, status?: string): Promise<Summary[]> {
  const out: Summary[] = [];
  let cursor: string | null = null;
  do {
    const res = await ferry.api('GET', `/v1/executions?function=${fn}&limit=1000${status ? `&status=${status}` : ''}${cursor ? `&cursor=${cursor}` : ''}`);
    const page = (await res.json()) as { executions: Summary[]; next: string | null };
    out.push(...page.executions);
    cursor = page.next;
  } while (cursor);
  return out;
}

/** Whether `fn` has an execution in `status`. */
async function anyExecution(ferry: Ferry, fn: string, status: string): Promise<boolean> {
  const res = await ferry.api('GET', `/v1/executions?function=${fn}&status=${status}&limit=1`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { executions: Summary[] }).executions.length > 0;
}

/** The runs recorded as objects `runs/{execution}/{run}`, by execution (all pages). */
async function evidence(ferry: Ferry, fn: string): Promise<Map<string, string[]>> {
  const runs = new Map<string, string[]>();
  let cursor: string | null = null;
  do {
    const res = await ferry.api('GET', `/v1/functions/${fn}/objects?prefix=runs/&limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(res.status, 200);
    const page = (await res.json()) as { objects: Array<{ key: string }>; cursor: string | null };
    for (const o of page.objects) {
      const [, execution, run] = o.key.split('/');
      runs.set(execution!, [...(runs.get(execution!) ?? []), run!]);
    }
    cursor = page.cursor;
  } while (cursor);
  return runs;
}

/** How many runs have got as far as answering (a byte per run). */
async function progress(dir: string): Promise<number> {
  return (await readFile(join(dir, 'progress.log')).catch(() => Buffer.alloc(0))).length;
}

test(`kill -9 while draining ${N} executions: every one answered 202 succeeds after the restart`, { timeout: 600_000 }, async (t) => {
  const runsDir = await mkdtemp(join(tmpdir(), 'ferry-runs-'));
  const args = ['--driver', 'process', '--unsandboxed'];
  let ferry = await startFerry({ args });
  const dataDir = ferry.dataDir;
  try {
    // retries 0: a run lost to the crash that counted as an attempt would fail its execution.
    await ferry.deploy('runs', nodeFn(runsSource, { retries: 0, env: { RUNS_DIR: runsDir }, scaling: { concurrency: 32, maxInstances: 2 } }));
    const t0 = Date.now();
    const headers = (i: number) => ({ 'idempotency-key': `k${i}` });
    const submitting = submitMany(ferry.url, '/fn/runs', Array.from({ length: N }, (_, i) => i), { concurrency: 32, headers });
    // Kill once the drain is well under way (and while submissions may still be arriving).
    let lines = 0;
    await waitFor('the drain to get under way', async () => {
      lines = await progress(runsDir);
      return lines >= N * 0.3;
    }, { timeoutMs: 60_000, intervalMs: 10 });
    ferry.proc.kill('SIGKILL');
    await once(ferry.proc, 'exit');
    const first = await submitting;
    const killedAt = Date.now() - t0;
    const accepted = new Map<number, string>();
    for (const s of first) if (s.status === 202) accepted.set(s.i, s.id!);
    const refused = first.filter((s) => s.status !== 202 && s.status !== 0);
    assert.deepEqual(refused, [], 'no submission was refused before the kill');

    ferry = await startFerry({ args, dataDir });
    // What never got its 202 is sent again, under the same key: stored ones answer their id.
    const retry = await submitMany(ferry.url, '/fn/runs', Array.from({ length: N }, (_, i) => i).filter((i) => !accepted.has(i)), { concurrency: 32, headers });
    const second: Submitted[] = [...retry];
    // A few that did get their 202: the key still names the same execution after the crash.
    const again = await submitMany(ferry.url, '/fn/runs', [...accepted.keys()].slice(0, 20), { concurrency: 4, headers });
    for (const s of again) assert.equal(s.id, accepted.get(s.i), `key k${s.i} answered another execution after the restart`);
    for (const s of second) {
      assert.equal(s.status, 202, `resubmission ${s.i} answered ${s.status}`);
      accepted.set(s.i, s.id!);
    }
    const ids = new Set(accepted.values());
    assert.equal(ids.size, N);

    // A hang guard, not a timing: a loaded machine drains slower. One row of each status is
    // enough to know whether any is left (all of them, every 250 ms, slowed the drain it watched).
    await waitFor('every execution to end', async () => !(await anyExecution(ferry, 'runs', 'queued')) && !(await anyExecution(ferry, 'runs', 'running')), { timeoutMs: 300_000, intervalMs: 250 });
    const all = await allExecutions(ferry, 'runs');
    assert.equal(all.length, N, 'exactly one execution per key');
    const notSucceeded = all.filter((e) => e.status !== 'succeeded');
    assert.deepEqual(notSucceeded, [], 'every execution succeeded');
    const missing = [...ids].filter((id) => !all.some((e) => e.id === id));
    assert.deepEqual(missing, [], 'no accepted execution is missing');

    // Evidence: every execution ran; its result names one of its recorded runs.
    const runs = await evidence(ferry, 'runs');
    let duplicates = 0;
    for (const id of ids) {
      const r = runs.get(id) ?? [];
      assert.ok(r.length >= 1, `execution ${id} left no evidence of a run`);
      duplicates += r.length - 1;
    }
    const sample = [...ids].slice(0, 50);
    for (const id of sample) {
      const e = (await (await ferry.api('GET', `/v1/executions/${id}?logs=0`)).json()) as { result: { body: string } };
      const body = JSON.parse(e.result.body) as { execution: string; run: string };
      assert.equal(body.execution, id);
      assert.ok(runs.get(id)!.includes(body.run), 'the result is one of the recorded runs');
    }
    const lost = all.reduce((n, e) => n + e.lostRuns, 0);
    assert.ok(all.every((e) => e.attempts === 1), 'lost runs do not count as attempts');
    t.diagnostic(`killed at ${killedAt} ms with ${lines} runs recorded; ${first.filter((s) => s.status === 202).length} answered 202 before the kill, ${second.length} sent again after it`);
    t.diagnostic(`${N} executions succeeded, none missing; runs lost to the kill and run again: ${lost}; duplicate runs (evidence of more than one run): ${duplicates}`);
  } finally {
    await disposeFerry(ferry);
    await rm(runsDir, { recursive: true, force: true });
  }
});

test('an instance killed mid-run: the run is retried and the execution succeeds', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-victim-'));
  const ferry = await startFerry({ args: ['--driver', 'process', '--unsandboxed'] });
  try {
    const marker = join(dir, 'first-run');
    await writeFile(join(dir, 'keep'), '');
    // The first run marks itself and then takes long; later runs answer at once.
    const src = `import { existsSync, writeFileSync } from 'node:fs';
export default async () => {
  if (existsSync(process.env.MARKER)) return 'second run';
  writeFileSync(process.env.MARKER, String(process.pid));
  await new Promise((r) => setTimeout(r, 30000));
  return 'first run';
};
`;
    await ferry.deploy('victim', nodeFn(src, { retries: 1, env: { MARKER: marker } }));
    const res = await fetch(`${ferry.url}/fn/victim`, { method: 'POST', headers: { prefer: 'respond-async' } });
    assert.equal(res.status, 202);
    const { id } = (await res.json()) as { id: string };
    const pid = await waitFor('the first run to start', async () => {
      const mark = await readFile(marker, 'utf8').catch(() => '');
      if (!mark) return undefined;
      return (await listInstances(ferry, 'victim')).find((i) => i.pid === Number(mark))?.pid;
    });
    process.kill(pid, 'SIGKILL');
    const e = (await (await ferry.api('GET', `/v1/executions/${id}?wait=30`)).json()) as { status: string; attempts: number; lostRuns: number; result: { body: string } };
    assert.equal(e.status, 'succeeded');
    assert.equal(e.result.body, 'second run');
    assert.equal(e.attempts, 2, 'the crashed run counted, the retry succeeded');
    assert.equal(e.lostRuns, 0);
  } finally {
    await disposeFerry(ferry);
    await rm(dir, { recursive: true, force: true });
  }
});
