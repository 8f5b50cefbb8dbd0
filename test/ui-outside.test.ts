/**
 * The dashboard's session against a page any user can deploy: `/fn/{name}` answers on Ferry's own
 * origin, the dashboard's. In a real browser (Debian's chromium), an admin logged in to the
 * dashboard opens a function's page whose script tries what a hostile page would: read the
 * session's CSRF token from `/v1/auth/session` and make itself an admin. The page runs sandboxed
 * (an origin of its own), so it gets nothing; and the function never sees the session cookie.
 * And markup in what users control (log lines, answers, paths, payloads, object names) shows in
 * the dashboard as text, never as elements.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startFerry, disposeFerry, type Ferry } from './support/ferry.js';
import { browserSkip, launchBrowser, signedInAdmin } from './support/browser.js';
import { nodeFn } from './support/helpers.js';

const skip = browserSkip();

/**
 * A page that tries to act as its visitor: its script reads the session, then creates a user with
 * the session's CSRF token; what it got ends up in the title. `/cookie` answers the Cookie header
 * the function was given.
 */
const hostile = nodeFn(`
const page = \`<!doctype html><title>waiting</title><script>
(async () => {
  let out;
  try {
    const s = await (await fetch('/v1/auth/session', { credentials: 'include' })).json();
    const made = await fetch('/v1/users', { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrf }, body: JSON.stringify({ name: 'intruder', password: 'intruder-Passw0rd-long', groups: ['permission:admin'] }) });
    out = 'made:' + made.status;
  } catch (err) {
    out = 'blocked';
  }
  document.title = 'done ' + out;
})();
</script>\`;
export default (req) => new URL(req.url).pathname === '/cookie'
  ? new Response(req.headers.get('cookie') ?? '')
  : new Response(page, { headers: { 'content-type': 'text/html', 'content-security-policy': "default-src * 'unsafe-inline'" } });
`, { invoke: 'public' });

/** Markup that would run if the page ever took data as HTML. */
const payload = '<img src="x" onerror="window.__injected=1"><script>window.__injected=2</script>';

/** Logs the markup, and answers it with the body and path it was called with. */
const markup = nodeFn(`export default async (req) => { const u = new URL(req.url); console.log(${JSON.stringify(payload)} + u.pathname); return new Response(${JSON.stringify(payload)} + (await req.text())); };\n`, { recordPayloads: true });

let ferry: Ferry;
let browser: Browser;
before(async () => {
  if (skip) return;
  ferry = await startFerry({ args: ['--domain', 'fn.test'] });
  browser = await launchBrowser();
  await ferry.deploy('hostile', hostile);
  await ferry.deploy('markup', markup);
});
after(async () => {
  await browser?.close();
  if (ferry) await disposeFerry(ferry);
});

/** A new browser profile with the admin signed in to the dashboard by its token. */
const admin = (): Promise<{ context: BrowserContext; page: Page }> => signedInAdmin(browser, ferry.url, ferry.token);

test("a function's page opened by a signed-in admin cannot act as the admin, nor does the function get the session cookie", { skip }, async (t) => {
  const { context, page } = await admin();
  t.after(() => context.close());
  const session = (await context.cookies(ferry.url)).find((c) => c.name === 'ferry_session');
  assert.ok(session, 'the dashboard is signed in');

  // The same browser, the same origin: the function's page and what it asked for.
  await page.goto(`${ferry.url}/fn/hostile/`);
  await page.waitForFunction(() => document.title.startsWith('done'));
  assert.equal(await page.title(), 'done blocked', 'the page read no session and made no user');
  const users = (await (await ferry.api('GET', '/v1/users')).json()) as { users: Array<{ name: string }> };
  assert.deepEqual(users.users.filter((u) => u.name === 'intruder'), []);

  await page.goto(`${ferry.url}/fn/hostile/cookie`);
  assert.doesNotMatch(await page.locator('body').innerText(), /ferry_session/, 'the function was not handed the session cookie');
  // The browser did send it: the dashboard still works in this context.
  const still = await fetch(`${ferry.url}/v1/auth/session`, { headers: { cookie: `ferry_session=${session.value}` } });
  assert.equal(still.status, 200);
  await still.text();
});

test("a function's own Content-Security-Policy does not lift the sandbox; by host name a function is its own origin and is not sandboxed", { skip }, async () => {
  const res = await fetch(`${ferry.url}/fn/hostile/`);
  await res.text();
  const policies = (res.headers.get('content-security-policy') ?? '').split(',').map((p) => p.trim());
  assert.ok(policies.includes("default-src * 'unsafe-inline'"), 'the function keeps its own policy');
  assert.ok(policies.some((p) => /^sandbox allow-scripts\b/.test(p) && !p.includes('allow-same-origin')), policies.join(' | '));

  const port = Number(new URL(ferry.url).port);
  const byHost = await new Promise<string | undefined>((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/', headers: { host: 'hostile.fn.test' } }, (r) => {
      r.resume();
      const csp = r.headers['content-security-policy'];
      resolve(Array.isArray(csp) ? csp.join(', ') : csp);
    }).on('error', reject).end();
  });
  assert.equal(byHost, "default-src * 'unsafe-inline'");
});

test('markup in log lines, answers, paths, payloads and object names shows as text in the dashboard', { skip }, async (t) => {
  const put = await ferry.api('PUT', `/v1/functions/markup/objects/${encodeURIComponent('<img src=x onerror=window.__injected=3>')}`, 'object', { 'content-type': 'text/plain' });
  assert.ok(put.status === 200 || put.status === 201, `${put.status}`);
  const { context, page } = await admin();
  t.after(() => context.close());
  await page.goto(`${ferry.url}/ui/#/functions/markup`);
  await page.getByRole('heading', { name: 'Function markup' }).waitFor();
  await page.getByRole('button', { name: 'Follow' }).click();
  await page.getByRole('button', { name: 'Stop following' }).waitFor();
  await page.getByLabel('Path').fill(`/<b>${encodeURIComponent('<i>')}`);
  await page.getByLabel('Body (optional)').fill(payload);
  await page.getByRole('button', { name: 'Call', exact: true }).click();
  await page.getByText(/^Execution [0-9a-f]+: succeeded/).waitFor().catch(async (err: unknown) => assert.fail(`${String(err)}\n${await page.locator('main').innerText()}`));
  await page.waitForFunction(() => (document.querySelector('pre.log[aria-label="Log of markup"]')?.textContent ?? '').includes('onerror='));
  await page.reload();
  await page.getByRole('heading', { name: 'Function markup' }).waitFor();
  await page.getByRole('button', { name: /^Details of execution / }).first().click();
  await page.locator('#s-executions-section pre').getByText(/onerror/).first().waitFor();
  await page.getByText('<img src=x onerror=window.__injected=3>').first().waitFor();
  const seen = await page.evaluate(() => ({
    injected: (window as unknown as { __injected?: number }).__injected,
    elements: document.querySelectorAll('main img, main script, main b, main i').length,
  }));
  assert.deepEqual(seen, { injected: undefined, elements: 0 });
});
