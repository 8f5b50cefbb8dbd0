/**
 * The dashboard's views that test/ui.test.ts does not walk, in a real browser against the real
 * server with the default (bwrap) sandbox: each running instance's memory (as its memory cgroup
 * charges it) through the API and on the page; a failed execution retried (re-driven) from the
 * page until it succeeds; a function's objects and schedules; the build's progress of a deploy
 * whose build fails; secrets by name with a write-only value; a token shown once.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startFerry, disposeFerry, markSensitive, packFiles, type Ferry } from './support/ferry.js';
import { browserSkip, dropArchive, launchBrowser, signedInAdmin } from './support/browser.js';
import { nodeFn, until } from './support/helpers.js';

const skip = browserSkip();

let ferry: Ferry;
let browser: Browser;

before(async () => {
  if (skip) return;
  ferry = await startFerry();
  browser = await launchBrowser();
});

after(async () => {
  if (skip) return;
  await browser?.close();
  await disposeFerry(ferry);
});

/** A new browser profile, logged in with the admin's token, on the view at `hash` (`heading` its title). */
async function adminAt(hash: string, heading: string): Promise<{ context: BrowserContext; page: Page }> {
  // Deletes ask first; the test says yes.
  const { context, page } = await signedInAdmin(browser, ferry.url, ferry.token, { viewport: { width: 1280, height: 900 }, acceptDialogs: true });
  await page.goto(`${ferry.url}/ui/#${hash}`);
  await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
  return { context, page };
}

const functionPage = (name: string): Promise<{ context: BrowserContext; page: Page }> => adminAt(`/functions/${name}`, `Function ${name}`);

interface InstanceDoc {
  id: string;
  version: string;
  state: string;
  memoryBytes: number | null;
}

test("a running instance's memory: in the API answer and in the dashboard's live instances", { skip }, async (t) => {
  await ferry.deploy('weighed', nodeFn(`const held = Buffer.alloc(8 * 1024 * 1024, 1);\nexport default () => String(held.length);\n`));
  assert.equal((await ferry.api('POST', '/v1/functions/weighed/versions/v1/start')).status, 202);
  const ready = await until(async () => {
    const { instances } = (await (await ferry.api('GET', '/v1/functions/weighed/instances')).json()) as { instances: InstanceDoc[] };
    return instances.find((i) => i.state === 'ready');
  }, 30_000);
  assert.ok(ready, 'an instance is ready');
  // The instance holds an 8 MiB buffer on top of Node itself: its memory cgroup charges more.
  assert.ok(typeof ready.memoryBytes === 'number' && ready.memoryBytes > 8 * 1024 * 1024, `memoryBytes: ${ready.memoryBytes}`);

  const { context, page } = await functionPage('weighed');
  t.after(() => context.close());
  const section = page.locator('#s-instances-section');
  const row = section.getByRole('row', { name: new RegExp(ready.id) });
  await row.waitFor();
  const headers = await section.locator('th').allTextContents();
  const cells = await row.locator('td').allTextContents();
  const memory = cells[headers.indexOf('Memory')] ?? '';
  assert.match(memory, /^\d+(\.\d)? MiB$/, `the Memory cell: ${JSON.stringify(memory)} of ${JSON.stringify(cells)}`);
  assert.ok(Number.parseFloat(memory) >= 8, memory);
});

test("the functions list: each function's tier, state, req/s, errors and p50/p99 from the server's series", { skip }, async (t) => {
  // 'weighed' runs (the test before started it): calls enough to show in req/s (two decimals
  // over five minutes); one call that answers an error.
  await ferry.deploy('erring', nodeFn(`export default () => new Response('no', { status: 503 });\n`, { scaling: { mode: 'hot' } }));
  for (let i = 0; i < 5; i++) assert.equal((await fetch(`${ferry.url}/fn/weighed`)).status, 200);
  assert.equal((await fetch(`${ferry.url}/fn/erring`)).status, 503);
  const { context, page } = await adminAt('/functions', 'Functions');
  t.after(() => context.close());
  const headers = await page.locator('main th').allTextContents();
  assert.deepEqual(headers, ['Name', 'Owner', 'Runtime', 'Tier · sandbox', 'Versions', 'Aliases', 'State', 'req/s', 'Errors', 'p50 / p99']);
  const cellsOf = async (name: string): Promise<string[]> => page.getByRole('row', { name: new RegExp(`^${name}\\b`) }).locator('td').allTextContents();
  // The series counts a call once its answer is done: draw the list again until both are in.
  const counted = await until(async () => {
    await page.reload();
    await page.getByRole('heading', { name: 'Functions', level: 1 }).waitFor();
    const [weighed, erring] = [await cellsOf('weighed'), await cellsOf('erring')];
    return Number(weighed[7]) > 0 && erring[8] === '1' ? { weighed, erring } : undefined;
  }, 15_000, 250);
  assert.ok(counted, 'both calls are in the list');
  assert.match(counted.weighed[3]!, /^warm · network egress$/, "the default tier and network");
  assert.match(counted.weighed[6]!, /^1 ready/);
  assert.ok(Number(counted.weighed[7]) > 0, `req/s ${counted.weighed[7]}`);
  assert.equal(counted.weighed[8], '0');
  assert.match(counted.weighed[9]!, /^[\d.]+ m?s \/ [\d.]+ m?s$/);
  assert.match(counted.erring[3]!, /^hot · /);
});

test('a failed execution is retried from the page and then succeeds', { skip }, async (t) => {
  // Fails its first call and answers every later one: state kept by the warm instance.
  await ferry.deploy('once', nodeFn(`let calls = 0;\nexport default () => ++calls === 1 ? new Response('down', { status: 500 }) : 'up after ' + calls;\n`, { retries: 0 }));
  const submitted = await ferry.api('POST', '/v1/functions/once/executions', 'x', { 'content-type': 'text/plain' });
  assert.equal(submitted.status, 202);
  const { id } = (await submitted.json()) as { id: string };
  const failed = (await (await ferry.api('GET', `/v1/executions/${id}?wait=30&logs=0`)).json()) as { status: string };
  assert.equal(failed.status, 'failed');

  const { context, page } = await functionPage('once');
  t.after(() => context.close());
  const section = page.locator('#s-executions-section');
  await section.getByRole('row', { name: new RegExp(id) }).getByText('failed').waitFor();
  await section.getByRole('button', { name: `Retry execution ${id}` }).click();
  await page.getByText(`execution ${id} queued again`).waitFor();
  const after = (await (await ferry.api('GET', `/v1/executions/${id}?wait=30&logs=0`)).json()) as { status: string; attempts: number; result: { body: string } | null };
  assert.deepEqual([after.status, after.attempts, after.result?.body], ['succeeded', 1, 'up after 2']);
  // The page shows it once drawn again, and a succeeded execution offers no retry.
  await section.getByRole('button', { name: 'Refresh executions' }).click();
  await section.getByRole('row', { name: new RegExp(id) }).getByText('succeeded').waitFor();
  assert.equal(await section.getByRole('button', { name: `Retry execution ${id}` }).count(), 0);
});

test("a function's objects and schedules: listed, a schedule added, each deleted from the page", { skip }, async (t) => {
  await ferry.deploy('keeper', nodeFn(`export default () => 'kept';\n`));
  assert.equal((await ferry.api('PUT', '/v1/functions/keeper/objects/reports/day-1.txt', 'one', { 'content-type': 'text/plain' })).status, 201);
  const { context, page } = await functionPage('keeper');
  t.after(() => context.close());

  const objects = page.locator('#s-objects-section');
  await objects.getByRole('row', { name: /reports\/day-1\.txt/ }).getByText('text/plain').waitFor();
  await objects.getByRole('button', { name: 'Delete object reports/day-1.txt' }).click();
  await page.getByText('object reports/day-1.txt deleted').waitFor();
  assert.equal((await ferry.api('GET', '/v1/functions/keeper/objects/reports/day-1.txt')).status, 404);

  const schedules = page.locator('#s-schedules-section');
  await schedules.getByLabel('Schedule id').fill('nightly');
  await schedules.getByLabel('Cron expression').fill('0 3 * * *');
  await schedules.getByRole('button', { name: 'Save schedule' }).click();
  await page.getByText('schedule nightly saved').waitFor();
  await schedules.getByRole('row', { name: /nightly/ }).getByText('0 3 * * *').waitFor();
  const listed = (await (await ferry.api('GET', '/v1/functions/keeper/schedules')).json()) as { schedules: Array<{ id: string; cron: string }> };
  assert.deepEqual(listed.schedules.map((x) => [x.id, x.cron]), [['nightly', '0 3 * * *']]);
  await schedules.getByRole('button', { name: 'Delete schedule nightly' }).click();
  await page.getByText('schedule nightly deleted').waitFor();
  assert.deepEqual(((await (await ferry.api('GET', '/v1/functions/keeper/schedules')).json()) as { schedules: unknown[] }).schedules, []);
});

test("a deploy whose build fails: the build's progress and the compiler's refusal show, nothing is stored", { skip }, async (t) => {
  const { context, page } = await adminAt('/deploy', 'Deploy a function');
  t.after(() => context.close());
  await page.getByLabel('Function name').fill('broken');
  await dropArchive(page, 'broken.tar.gz', await packFiles({ 'ferry.json': JSON.stringify({ runtime: 'node', handler: 'index.ts' }), 'index.ts': 'export default (req: Request => 1;\n' }));
  await page.getByRole('button', { name: 'Deploy', exact: true }).click();
  await page.getByRole('status').getByText(/\(build-failed\)/).waitFor();
  const progress = (await page.getByLabel('Build progress').textContent()) ?? '';
  assert.match(progress, /^uploading broken\.tar\.gz/, progress);
  assert.match(progress, /dependencies:|index\.ts/, `a line of the build in:\n${progress}`);
  assert.equal((await ferry.api('GET', '/v1/functions/broken')).status, 404);
});

test('secrets by name, the value write-only; a new token shown once', { skip }, async (t) => {
  const value = 'ui-secret-value-7Qk2';
  markSensitive(value);
  const { context, page } = await adminAt('/secrets', 'Secrets');
  t.after(() => context.close());
  await page.getByLabel('Name').fill('UI_KEY');
  await page.getByLabel('Value (write-only)').fill(value);
  await page.getByRole('button', { name: 'Set secret' }).click();
  await page.getByText('secret UI_KEY set').waitFor();
  await page.locator('#s-secrets-section').getByRole('cell', { name: 'UI_KEY', exact: true }).waitFor();
  assert.equal(await page.getByLabel('Value (write-only)').inputValue(), '', 'the field is emptied once sent');
  assert.ok(!(await page.content()).includes(value), 'the value is nowhere in the page');
  assert.deepEqual(((await (await ferry.api('GET', '/v1/secrets')).json()) as { secrets: Array<{ name: string }> }).secrets.map((x) => x.name), ['UI_KEY']);

  await page.goto(`${ferry.url}/ui/#/tokens`);
  await page.getByRole('heading', { name: 'Tokens', level: 1 }).waitFor();
  await page.getByLabel('Label').fill('from-the-page');
  await page.getByRole('button', { name: 'Create token' }).click();
  const shown = page.locator('pre.code');
  await shown.waitFor();
  const token = ((await shown.textContent()) ?? '').trim();
  markSensitive(token);
  assert.match(token, /^fry_/);
  const row = page.locator('#s-api-tokens-section').getByRole('row', { name: /from-the-page/ });
  await row.waitFor();
  assert.ok(token.startsWith(((await row.getByRole('cell').first().textContent()) ?? '').replace(/…$/, '')), 'the listed prefix is the token\'s');
  // It works, and once the view is drawn again it is not shown any more.
  assert.equal((await fetch(`${ferry.url}/v1/auth/whoami`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
  await page.reload();
  await page.getByRole('heading', { name: 'Tokens', level: 1 }).waitFor();
  await row.waitFor();
  assert.ok(!(await page.content()).includes(token), 'shown once only');
});
