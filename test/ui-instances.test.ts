/**
 * A function's live instances and its executions in the dashboard, in a real browser against the
 * real server with the default (bwrap) sandbox: each running instance's memory, as its memory
 * cgroup charges it, through the API and on the page; a failed execution retried (re-driven)
 * from the page until it succeeds.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startFerry, disposeFerry, type Ferry } from './support/ferry.js';
import { browserSkip, launchBrowser } from './support/browser.js';
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

/** A new browser profile, logged in with the admin's token, on the function's page. */
async function functionPage(name: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${ferry.url}/`);
  await page.getByLabel('API token').fill(ferry.token);
  await page.getByRole('button', { name: 'Log in with the token' }).click();
  await page.getByRole('heading', { name: 'Functions', level: 1 }).waitFor();
  await page.goto(`${ferry.url}/ui/#/functions/${name}`);
  await page.getByRole('heading', { name: `Function ${name}` }).waitFor();
  return { context, page };
}

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
