/**
 * The web dashboard in a real browser (Debian's chromium, driven by playwright-core) against the
 * real server: log in with a token and with a password, deploy by dropping a tarball, call the
 * function, find the call in the history and the chart, move an alias weight with the canary
 * slider, follow the log, and meet a permission error as a user without the right. Beside it,
 * what keeps the session safe: the Content-Security-Policy, the cookie's flags, and the CSRF
 * refusal of a change sent with the cookie alone. Screenshots of the main views are taken on
 * the way; with FERRY_UI_SCREENSHOTS=docs/ui they are written there (docs/ui.md shows them).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startFerry, disposeFerry, packFiles, markSensitive, repoRoot, sleep, type Ferry } from './support/ferry.js';
import { browserSkip, dropArchive, launchBrowser, openContext, signedInAdmin, waitShown } from './support/browser.js';
import { expectProblem, nodeFn } from './support/helpers.js';

const skip = browserSkip();
const viewerPassword = 'viewer-Passw0rd-long';
markSensitive(viewerPassword);

/** A function that logs each call, so the log view has lines to follow. */
const hello = nodeFn("export default async (req) => { const u = new URL(req.url); console.log('called ' + u.pathname); return new Response('hello from ' + u.pathname); };\n");

let ferry: Ferry;
let browser: Browser;
let shots: string;
let keepShots: boolean;

before(async () => {
  if (skip) return;
  ferry = await startFerry();
  browser = await launchBrowser();
  keepShots = process.env.FERRY_UI_SCREENSHOTS !== undefined;
  shots = keepShots ? join(repoRoot, process.env.FERRY_UI_SCREENSHOTS!) : await mkdtemp(join(tmpdir(), 'ferry-ui-shots-'));
  await mkdir(shots, { recursive: true });
  // A reader of the team's functions who may change nothing.
  const created = await ferry.api('POST', '/v1/users', { name: 'viewer', password: viewerPassword, groups: ['custom:team', 'permission:read'] });
  assert.equal(created.status, 201);
});

after(async () => {
  if (skip) return;
  await browser?.close();
  if (!keepShots) await rm(shots, { recursive: true, force: true });
  await disposeFerry(ferry);
});

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

/** A new browser profile, logged in with the admin's token through the login form. */
const adminPage = (): Promise<{ context: BrowserContext; page: Page }> => signedInAdmin(browser, ferry.url, ferry.token, { viewport: { width: 1280, height: 900 } });

/** Asks again (`again`: a refresh button) until `seen`; the server writes history and series a moment after a call ends. */
async function until(what: string, seen: () => Promise<boolean>, again: () => Promise<void>): Promise<void> {
  for (let i = 0; i < 60; i++) {
    if (await seen()) return;
    await again();
    await sleep(250);
  }
  assert.fail(`never saw ${what}`);
}

/** Every field of the page has a label a screen reader announces, and the view's heading has focus. */
async function accessible(page: Page, view: string): Promise<void> {
  const unlabelled = await page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLInputElement>('input, select, textarea')).filter((el) => !el.labels?.length && !el.getAttribute('aria-label')).map((el) => el.outerHTML),
  );
  assert.deepEqual(unlabelled, [], `${view}: fields without a label`);
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'H1', `${view}: focus on the heading`);
}

/** The session cookie's value, read from outside the page (the page itself cannot). */
async function sessionCookie(context: BrowserContext): Promise<string> {
  const c = (await context.cookies(ferry.url)).find((x) => x.name === 'ferry_session');
  assert.ok(c, 'the login set the session cookie');
  return c.value;
}

test('the page: redirects to /ui/, a strict Content-Security-Policy, no inline script, revalidated by ETag', { skip }, async () => {
  const root = await fetch(`${ferry.url}/`, { redirect: 'manual' });
  assert.equal(root.status, 302);
  assert.equal(root.headers.get('location'), '/ui/');
  const dashboard = await fetch(`${ferry.url}/dashboard`, { redirect: 'manual' });
  assert.equal(dashboard.status, 302);
  assert.equal(dashboard.headers.get('location'), '/ui/');
  const page = await fetch(`${ferry.url}/ui/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  const csp = page.headers.get('content-security-policy') ?? '';
  assert.match(csp, /script-src 'self'(;|$)/, csp);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.match(csp, /frame-ancestors 'none'/);
  const html = await page.text();
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
    assert.match(m[1]!, /\bsrc=/, 'every script is a file of the page');
    assert.equal(m[2]!.trim(), '', 'no inline script');
  }
  const etag = page.headers.get('etag')!;
  assert.ok(etag);
  assert.equal((await fetch(`${ferry.url}/ui/`, { headers: { 'if-none-match': etag } })).status, 304);
  const js = await fetch(`${ferry.url}/ui/main.js`);
  assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
  assert.equal((await fetch(`${ferry.url}/ui/..%2fpackage.json`)).status, 404);
  assert.equal((await fetch(`${ferry.url}/ui/../../package.json`)).status, 404);
});

test('a token login: an HttpOnly, SameSite=Strict cookie no script can read, nothing in localStorage; a change without the CSRF header is refused', { skip }, async (t) => {
  const { context, page } = await adminPage();
  t.after(() => context.close());
  const cookie = (await context.cookies(ferry.url)).find((x) => x.name === 'ferry_session')!;
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(cookie.path, '/');
  const seen = await page.evaluate(() => ({ cookies: document.cookie, stored: localStorage.length + sessionStorage.length }));
  assert.equal(seen.cookies, '', 'the page cannot read its session cookie');
  assert.equal(seen.stored, 0, 'nothing in localStorage or sessionStorage');
  const token = await page.evaluate(() => document.documentElement.outerHTML);
  assert.ok(!token.includes(ferry.token), 'the token is not left in the page');

  const value = await sessionCookie(context);
  const headers = { cookie: `ferry_session=${value}`, 'content-type': 'application/json' };
  // A read needs no CSRF token; a change does, and gets nowhere without it.
  assert.equal((await fetch(`${ferry.url}/v1/functions`, { headers })).status, 200);
  await expectProblem(await fetch(`${ferry.url}/v1/secrets/CSRF_PROBE`, { method: 'PUT', headers, body: '{"value":"x"}' }), 403, 'csrf-refused');
  await expectProblem(await fetch(`${ferry.url}/v1/secrets/CSRF_PROBE`, { method: 'PUT', headers: { ...headers, 'x-csrf-token': 'not-the-token' }, body: '{"value":"x"}' }), 403, 'csrf-refused');
  assert.equal((await (await ferry.api('GET', '/v1/secrets')).json() as { secrets: unknown[] }).secrets.length, 0, 'nothing was stored');
  const { csrf } = (await (await fetch(`${ferry.url}/v1/auth/session`, { headers })).json()) as { csrf: string };
  assert.equal((await fetch(`${ferry.url}/v1/secrets/CSRF_PROBE`, { method: 'PUT', headers: { ...headers, 'x-csrf-token': csrf }, body: '{"value":"x"}' })).status, 201);
  assert.equal((await fetch(`${ferry.url}/v1/secrets/CSRF_PROBE`, { method: 'DELETE', headers: { ...headers, 'x-csrf-token': csrf } })).status, 204);

  // Logging out ends the session on the server: the cookie's value is worth nothing after.
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('heading', { name: 'Log in to Ferry' }).waitFor();
  await screenshot(page, 'login');
  await expectProblem(await fetch(`${ferry.url}/v1/functions`, { headers }), 401, 'session-expired');
});

test('a session check that fails still shows the login form, with the failure said above it', { skip }, async (t) => {
  const context = await openContext(browser);
  t.after(() => context.close());
  const page = await context.newPage();
  await page.route('**/v1/auth/session', (route) =>
    route.fulfill({ status: 503, contentType: 'application/problem+json', body: JSON.stringify({ type: 'about:blank', title: 'Unavailable', status: 503, code: 'shutting-down', detail: 'the server is shutting down' }) }),
  );
  await page.goto(`${ferry.url}/`);
  await page.getByLabel('API token').waitFor();
  await page.getByText('the server is shutting down (shutting-down)').waitFor();
});

test('deploy by dropping a tarball, call it, see the call in the history and the chart, move an alias weight, follow the log', { skip }, async (t) => {
  const { context, page } = await adminPage();
  t.after(() => context.close());
  await page.getByRole('link', { name: 'Deploy', exact: true }).click();
  await page.getByRole('heading', { name: 'Deploy a function' }).waitFor();
  await page.getByLabel('Function name').fill('hello');
  await page.getByLabel('Owning group (a new function only)').fill('custom:team');
  await dropArchive(page, 'hello.tar.gz', await packFiles(hello));
  await page.getByText('Ready: hello.tar.gz').waitFor();
  await screenshot(page, 'deploy');
  assert.deepEqual(await page.evaluate(() => Array.from(document.querySelectorAll<HTMLInputElement>('input')).filter((el) => !el.labels?.length).map((el) => el.outerHTML)), [], 'deploy: fields without a label');
  await page.getByRole('button', { name: 'Deploy', exact: true }).click();
  await page.getByRole('heading', { name: 'Function hello' }).waitFor();
  assert.equal((await (await ferry.api('GET', '/v1/functions/hello')).json() as { owner: string }).owner, 'custom:team');

  // Follow the log first, so the call's line arrives while it follows.
  const follow = page.getByRole('button', { name: 'Follow' });
  await follow.click();
  await page.getByRole('button', { name: 'Stop following' }).waitFor();

  await page.getByLabel('Path').fill('/from-the-page');
  await page.getByRole('button', { name: 'Call', exact: true }).click();
  await page.getByText('hello from /from-the-page').waitFor();
  // And a call from outside the page, straight to the function.
  assert.equal(await (await fetch(`${ferry.url}/fn/hello/from-outside`)).text(), 'hello from /from-outside');

  const log = page.getByLabel('Log of hello');
  await page.waitForFunction(() => /called \/from-outside/.test(document.querySelector('pre.log[aria-label="Log of hello"]')?.textContent ?? ''));
  assert.match((await log.textContent()) ?? '', /called \/from-the-page/);

  const history = page.locator('#s-invocation-history-section');
  const refreshHistory = (): Promise<void> => page.getByRole('button', { name: 'Refresh history' }).click();
  await until('the outside call in the history', async () => (await history.getByText('/from-outside').count()) > 0, refreshHistory);
  await until("the page's call in the history", async () => (await history.getByText('/from-the-page').count()) > 0, refreshHistory);

  // The chart draws the server's per-minute series: both calls are in it.
  const requestsCharted = async (): Promise<number> => Number(/requests total (\d+)/.exec((await page.locator('#s-traffic-section svg').first().getAttribute('aria-label')) ?? '')?.[1] ?? 0);
  await until('both calls in the chart', async () => (await requestsCharted()) >= 2, () => page.locator('#s-traffic-section').getByRole('button', { name: 'Refresh' }).click());
  const path = await page.locator('#s-traffic-section svg path').first().getAttribute('d');
  assert.match(path ?? '', /L/, 'the requests line is drawn');
  await screenshot(page, 'function');
  await page.reload();
  await waitShown(page, page.getByRole('heading', { name: 'Function hello' }));
  await page.getByRole('heading', { name: 'Alias' }).or(page.getByText('No aliases yet.')).first().waitFor();
  await accessible(page, "a function's page");

  // Scaling and limits are edited on the page (a PATCH of the version).
  const limits = page.getByRole('form', { name: 'Scaling and limits of v1' });
  await limits.getByLabel('Memory (MB)').fill('128');
  await limits.getByRole('button', { name: 'Save' }).click();
  await page.getByText('v1: scaling and limits saved').waitFor();
  assert.equal(((await (await ferry.api('GET', '/v1/functions/hello/versions/v1')).json()) as { config: { limits: { memoryMb: number } } }).config.limits.memoryMb, 128);
  // The page's call was an execution: its result is there to open.
  await page.getByRole('button', { name: /^Details of execution / }).first().click();
  await page.locator('#s-executions-section pre').getByText(/"status": "succeeded"/).waitFor();

  // A second version and an alias on the first; the slider sends a quarter of it to the second.
  await ferry.deploy('hello', nodeFn("export default () => new Response('v2');\n"));
  assert.equal((await ferry.api('PUT', '/v1/functions/hello/aliases/prod', { version: 'v1' })).status, 200);
  await page.reload();
  await waitShown(page, page.getByRole('heading', { name: 'Alias prod' }));
  const editor = page.getByRole('form', { name: 'Weights of prod' });
  await editor.getByLabel('Stable version').selectOption('v1');
  await editor.getByLabel('Canary version').selectOption('v2');
  await editor.getByLabel('Canary share of prod').fill('25');
  await editor.getByText('25% to v2, 75% to v1').waitFor();
  await editor.getByRole('button', { name: 'Save weights' }).click();
  await page.getByText('alias prod saved').waitFor();
  const alias = (await (await ferry.api('GET', '/v1/functions/hello/aliases')).json()) as { aliases: Array<{ alias: string; target: unknown }> };
  assert.deepEqual(alias.aliases.find((a) => a.alias === 'prod')?.target, { weights: { v1: 75, v2: 25 } });

  await page.goto(`${ferry.url}/ui/#/functions`);
  const row = page.getByRole('row', { name: /hello/ });
  await row.waitFor();
  const cells = await row.getByRole('cell').allTextContents();
  assert.equal(cells[1], 'custom:team', 'the owner column');
  assert.equal(cells[2], 'node', 'the runtime column');
  assert.equal(cells[4], '2', 'two versions');
  assert.equal(cells[5], 'prod', 'the alias');
  await screenshot(page, 'functions');
  await page.goto(`${ferry.url}/ui/#/users`);
  await page.locator('#s-users-section').getByRole('cell', { name: 'viewer', exact: true }).waitFor();
  await screenshot(page, 'users');
  await accessible(page, 'users and groups');
});

test("deploy by a registry image's ferry.json: the pull's refusal shows in the page, nothing is stored", { skip }, async (t) => {
  const { context, page } = await adminPage();
  t.after(() => context.close());
  await page.getByRole('link', { name: 'Deploy', exact: true }).click();
  await page.getByLabel('Function name').fill('pulled');
  await page.getByLabel('Or a registry image').fill(JSON.stringify({ runtime: 'exec', image: { ref: '169.254.169.254/x/y:1' } }));
  await page.getByRole('button', { name: 'Deploy', exact: true }).click();
  await page.getByRole('status').getByText(/--registry-allow.*\(url-refused\)/).waitFor();
  assert.equal((await ferry.api('GET', '/v1/functions/pulled')).status, 404);
});

test('a user without the right: a password login, the function readable, a change refused with the permission named', { skip }, async (t) => {
  if (!(await ferry.api('GET', '/v1/functions/hello')).ok) await ferry.deploy('hello', hello, undefined, '?group=custom:team');
  if ((await ferry.api('GET', '/v1/functions/hello/aliases/prod')).status !== 200) await ferry.api('PUT', '/v1/functions/hello/aliases/prod', { version: 'v1' });
  const before = await (await ferry.api('GET', '/v1/functions/hello/aliases')).text();
  const context = await openContext(browser);
  t.after(() => context.close());
  const page = await context.newPage();
  await page.goto(`${ferry.url}/ui/`);
  await page.getByLabel('User name').fill('viewer');
  await page.getByLabel('Password', { exact: true }).fill(viewerPassword);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await page.getByRole('link', { name: 'hello' }).click();
  await page.getByRole('heading', { name: 'Function hello' }).waitFor();
  const editor = page.getByRole('form', { name: 'Weights of prod' });
  // A hang guard that says what the page showed instead (a section's error, the login form).
  await editor.waitFor({ timeout: 60_000 }).catch(async (err: Error) => {
    assert.fail(`no weights form for prod (${err.message.split('\n')[0]}); the page said: ${(await page.locator('body').innerText()).slice(0, 2000)}`);
  });
  await editor.getByLabel('Canary share of prod').fill('50');
  await editor.getByRole('button', { name: 'Save weights' }).click();
  await page.getByRole('status').getByText(/permission:write on 'hello' \(forbidden\)/).waitFor();
  assert.equal(await (await ferry.api('GET', '/v1/functions/hello/aliases')).text(), before, 'the alias is unchanged');
  // The admin views are not offered, and the API refuses them all the same.
  assert.equal(await page.getByRole('link', { name: 'Users & groups' }).count(), 0);
  await page.goto(`${ferry.url}/ui/#/users`);
  await page.getByRole('alert').getByText(/forbidden/).first().waitFor();
});
