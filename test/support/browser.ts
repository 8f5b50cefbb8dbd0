// A real browser for tests: Debian's chromium driven by playwright-core (no browser download).
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Locator, type Page } from 'playwright-core';

export const chromiumPath = process.env.FERRY_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** Why a browser test cannot run here, or false: under CI it always runs (and fails if it cannot). */
export function browserSkip(): string | false {
  if (process.env.CI) return false;
  return existsSync(chromiumPath) ? false : `no ${chromiumPath} (scripts/install-system-deps.sh installs it)`;
}

/** Launches headless chromium; close it with `browser.close()`. */
export async function launchBrowser(): Promise<Browser> {
  // --no-sandbox: the tests run as root, where chromium's own sandbox refuses to start.
  // The rest: no connections of chromium's own (updates, sync, safe browsing) on a closed network.
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * A new browser profile whose waits are hang guards sized for a busy machine (playwright's 30 s
 * default was passed by a first page under a loaded suite); nothing here is a timing assertion.
 */
export async function openContext(browser: Browser, options: BrowserContextOptions = {}): Promise<BrowserContext> {
  const context = await browser.newContext(options);
  context.setDefaultTimeout(120_000);
  context.setDefaultNavigationTimeout(120_000);
  return context;
}

/**
 * A new browser profile with the admin signed in to the dashboard at `url` by `token` (the login
 * form, as a person does), on the Functions view. `onDialog`: confirmations are accepted.
 */
export async function signedInAdmin(browser: Browser, url: string, token: string, options: BrowserContextOptions & { acceptDialogs?: boolean } = {}): Promise<{ context: BrowserContext; page: Page }> {
  const { acceptDialogs, ...contextOptions } = options;
  const context = await openContext(browser, contextOptions);
  const page = await context.newPage();
  if (acceptDialogs) page.on('dialog', (d) => void d.accept());
  await page.goto(`${url}/`);
  try {
    await page.getByLabel('API token').waitFor();
  } catch (err) {
    // What the page shows instead says why (an error above an empty page, a crashed renderer).
    const shown = await page.locator('body').innerText({ timeout: 5_000 }).catch((e: Error) => `(unreadable: ${e.message})`);
    throw new Error(`no login form at ${url}/; the page shows: ${shown.slice(0, 500)}`, { cause: err });
  }
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Log in with the token' }).click();
  await page.getByRole('heading', { name: 'Functions', level: 1 }).waitFor();
  return { context, page };
}

/** Drops a gzip file `name` holding `bytes` on the page's drop zone (`.drop`), as a user drags one there. */
export async function dropArchive(page: Page, name: string, bytes: Uint8Array): Promise<void> {
  const dropped = await page.evaluateHandle(([file, b64]) => {
    const dt = new DataTransfer();
    dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], file, { type: 'application/gzip' }));
    return dt;
  }, [name, Buffer.from(bytes).toString('base64')] as const);
  await page.dispatchEvent('.drop', 'drop', { dataTransfer: dropped });
}

/** Waits for `locator` like `waitFor`; a wait that fails says what the page shows instead (an error in a section, say). */
export async function waitShown(page: Page, locator: Locator): Promise<void> {
  try {
    await locator.waitFor();
  } catch (err) {
    const shown = await page.locator('body').innerText({ timeout: 5_000 }).catch((e: Error) => `(unreadable: ${e.message})`);
    throw new Error(`${(err as Error).message}\nthe page shows: ${shown.slice(0, 2000)}`, { cause: err });
  }
}
