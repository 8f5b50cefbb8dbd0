/**
 * Dead letters end to end against the real server: an execution whose runs fail for good (retries
 * spent, or timed out) is listed through the API and the CLI, survives a restart, and a re-drive
 * runs it again with its retries afresh; what is not a dead letter cannot be re-driven.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFerry, disposeFerry, markSensitive, type Ferry } from './support/ferry.js';
import { expectProblem, nodeFn, runCli, show } from './support/helpers.js';

interface Summary {
  id: string;
  result?: { body: string | null } | null;
  function: string;
  status: string;
  attempts: number;
  deadLetter?: { reason: string; deliveries: number; at: string };
}

/** Fails (500) while the file `fail` is in MARKER_DIR; answers 200 once it is gone, saying what X-Api-Key it got. */
const flakySource = `import { existsSync } from 'node:fs';
import { join } from 'node:path';
export default (req) => existsSync(join(process.env.MARKER_DIR, 'fail')) ? new Response('down', { status: 500 }) : 'up, key ' + (req.headers.get('x-api-key') ?? 'none');
`;
const apiKey = 'dead-letter-api-key-3f9a1c';

async function submit(ferry: Ferry, fn: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${ferry.url}/fn/${fn}`, { method: 'POST', headers: { prefer: 'respond-async', ...headers }, body: 'x' });
  assert.equal(res.status, 202, await res.clone().text());
  return ((await res.json()) as { id: string }).id;
}

async function ended(ferry: Ferry, id: string): Promise<Summary> {
  const e = (await (await ferry.api('GET', `/v1/executions/${id}?wait=30&logs=0`)).json()) as Summary;
  assert.ok(!['queued', 'running'].includes(e.status), `execution ${id} still ${e.status}`);
  return e;
}

async function deadLetters(ferry: Ferry, query = ''): Promise<Summary[]> {
  const res = await ferry.api('GET', `/v1/dead-letters${query}`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { deadLetters: Summary[] }).deadLetters;
}

test('failed and timed-out executions become dead letters, listed through the API and the CLI, and re-driven', { timeout: 300_000 }, async (t) => {
  const markers = await mkdtemp(join(tmpdir(), 'ferry-dead-'));
  t.after(() => rm(markers, { recursive: true, force: true }));
  await writeFile(join(markers, 'fail'), '');
  const args = ['--driver', 'process', '--unsandboxed'];
  let ferry = await startFerry({ args });
  const dataDir = ferry.dataDir;
  try {
    await ferry.deploy('flaky', nodeFn(flakySource, { retries: 1, env: { MARKER_DIR: markers } }));
    await ferry.deploy('stuck', nodeFn(`export default () => new Promise((r) => setTimeout(() => r('late'), 3000));\n`, { asyncTimeoutMs: 300, retries: 0 }));
    await ferry.deploy('fine', nodeFn(`export default () => 'ok';\n`, { retries: 0 }));

    // One after the other, so the order they were set aside in is known.
    const late = await submit(ferry, 'stuck');
    assert.equal((await ended(ferry, late)).status, 'timed-out');
    markSensitive(apiKey);
    const failed = await submit(ferry, 'flaky', { 'x-api-key': apiKey });
    assert.equal((await ended(ferry, failed)).attempts, 2);
    const ok = await submit(ferry, 'fine');
    assert.equal((await ended(ferry, ok)).status, 'succeeded');

    const all = await deadLetters(ferry);
    assert.deepEqual(all.map((d) => [d.id, d.function, d.status, d.deadLetter?.reason]), [
      [failed, 'flaky', 'failed', 'function-error'],
      [late, 'stuck', 'timed-out', 'invoke-timeout'],
    ]);
    assert.equal(all[0]!.deadLetter!.deliveries, 2, 'one run and one retry');
    assert.deepEqual((await deadLetters(ferry, '?function=flaky')).map((d) => d.id), [failed]);
    const page = (await (await ferry.api('GET', '/v1/dead-letters?limit=1')).json()) as { deadLetters: Summary[]; next: string | null };
    assert.deepEqual(page.deadLetters.map((d) => d.id), [failed]);
    assert.deepEqual((await deadLetters(ferry, `?cursor=${page.next}`)).map((d) => d.id), [late]);
    assert.deepEqual(await deadLetters(ferry, '?function=fine'), []);
    await expectProblem(await ferry.api('GET', '/v1/dead-letters?limit=0'), 400, 'invalid-query');
    await expectProblem(await ferry.api('POST', `/v1/executions/${ok}/redrive`), 409, 'execution-not-redrivable');
    await expectProblem(await ferry.api('POST', `/v1/executions/${'0'.repeat(32)}/redrive`), 404, 'execution-not-found');

    // Dead letters are kept across a restart.
    await ferry.stop();
    ferry = await startFerry({ args, dataDir });
    const env = { FERRY_URL: ferry.url, FERRY_TOKEN: ferry.token };
    const listed = await runCli(['executions', 'dead-letters', '--function', 'flaky'], { env });
    assert.equal(listed.code, 0, show(listed));
    assert.match(listed.stdout, /^ID\s+FUNCTION\s+VERSION\s+STATUS\s+ATTEMPTS\s+REASON/);
    assert.match(listed.stdout, new RegExp(`${failed}\\s+flaky\\s+v\\S+\\s+failed\\s+2\\s+function-error`));
    assert.doesNotMatch(listed.stdout, new RegExp(late));

    // The fault is fixed: a re-drive runs it again, its retries afresh.
    await rm(join(markers, 'fail'));
    const redriven = await runCli(['executions', 'redrive', failed], { env });
    assert.equal(redriven.code, 0, show(redriven));
    assert.match(redriven.stdout, new RegExp(`Re-driven ${failed}`));
    const after = await ended(ferry, failed);
    assert.deepEqual([after.status, after.attempts], ['succeeded', 1]);
    assert.equal(after.result?.body, 'up, key none', 'the credential was dropped at the end: the re-driven run goes without it');
    assert.deepEqual((await deadLetters(ferry)).map((d) => d.id), [late], 'a re-driven execution is no dead letter any more');
    const again = await runCli(['executions', 'redrive', failed], { env });
    assert.notEqual(again.code, 0, show(again));
    assert.match(again.stderr, /execution-not-redrivable|only a dead letter/);

    // Through the API: the timed-out one runs again (and times out again: a dead letter once more).
    const res = await ferry.api('POST', `/v1/executions/${late}/redrive`);
    assert.equal(res.status, 200);
    assert.deepEqual(((await res.json()) as Summary).status, 'queued');
    assert.equal((await ended(ferry, late)).status, 'timed-out');
    assert.deepEqual((await deadLetters(ferry)).map((d) => [d.id, d.deadLetter?.deliveries]), [[late, 1]]);
  } finally {
    await disposeFerry(ferry);
  }
});
