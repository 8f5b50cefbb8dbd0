// A real browser for tests: Debian's chromium driven by playwright-core (no browser download).
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const chromiumPath = process.env.FERRY_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** Why a browser test cannot run here, or false: under CI it always runs (and fails if it cannot). */
export function browserSkip(): string | false {
  if (process.env.CI) return false;
  return existsSync(chromiumPath) ? false : `no ${chromiumPath} (scripts/install-system-deps.sh installs it)`;
}

/** Launches headless chromium; close it with `browser.close()`. */
export async function launchBrowser(): Promise<Browser> {
  // --no-sandbox: the tests run as root, where chromium's own sandbox refuses to start.
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
}
