import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';

/** In CI (or with FERRY_SANDBOX_MUST_WORK=1) a missing sandbox capability is a failure. */
export const mustWork = (!!process.env['CI'] && process.env['CI'] !== 'false') || process.env['FERRY_SANDBOX_MUST_WORK'] === '1';

/** Skips the test with `reason` when `ok` is false, except where the sandbox must work. */
export function need(t: TestContext, ok: boolean, reason: string): boolean {
  if (ok) return true;
  if (mustWork) assert.fail(`sandbox capability missing (CI or FERRY_SANDBOX_MUST_WORK): ${reason}`);
  t.skip(reason);
  return false;
}
