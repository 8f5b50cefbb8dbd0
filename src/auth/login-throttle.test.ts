import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FerryError } from '../errors/index.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { LoginThrottle, NAME_FAILURES_PER_MINUTE } from './login-throttle.js';

async function withThrottle(max: number, fn: (t: LoginThrottle) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-throttle-'));
  const store = new SqliteStore({ dataDir: dir });
  try {
    await fn(new LoginThrottle(store.throttles, max));
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const blocked = (p: Promise<void>): Promise<void> => assert.rejects(p, (e: unknown) => e instanceof FerryError && e.code === 'too-many-attempts' && Number(e.headers?.['retry-after']) >= 1);

test('failures block the client address and name pair, not the name for other clients', () =>
  withThrottle(5, async (t) => {
    const now = 1_000_000;
    for (let i = 0; i < 5; i++) {
      await t.check('alice', '203.0.113.1', now);
      await t.fail('alice', '203.0.113.1', now);
    }
    await blocked(t.check('alice', '203.0.113.1', now));
    await t.check('alice', '203.0.113.2', now); // the owner, elsewhere
    await t.check('bob', '203.0.113.1', now); // another name from the guesser: its address budget is 4x
    // The block ends after 30 s and doubles with the next failure.
    await t.check('alice', '203.0.113.1', now + 31_000);
    await t.fail('alice', '203.0.113.1', now + 31_000);
    await blocked(t.check('alice', '203.0.113.1', now + 31_000 + 59_000));
    // A success clears the pair.
    await t.succeed('alice', '203.0.113.1');
    await t.check('alice', '203.0.113.1', now + 31_000);
  }));

test('one address spraying many names is blocked after 4x the budget', () =>
  withThrottle(2, async (t) => {
    for (let i = 0; i < 8; i++) await t.fail(`user${i}`, '203.0.113.9', 5_000);
    await blocked(t.check('someone-else', '203.0.113.9', 5_000));
    await t.check('someone-else', '203.0.113.10', 5_000);
  }));

test(`past ${NAME_FAILURES_PER_MINUTE} failures a minute on one name, clients that failed on it wait; a clean client still tries`, () =>
  withThrottle(5, async (t) => {
    const now = 2_000_000;
    for (let i = 0; i < NAME_FAILURES_PER_MINUTE; i++) await t.fail('alice', `198.51.100.${i % 50}|${i}`, now);
    await blocked(t.check('alice', '198.51.100.1|1', now + 1000));
    await t.check('alice', '192.0.2.77', now + 1000); // never failed on alice: the owner gets in
    await t.check('alice', '198.51.100.1|1', now + 61_000); // the minute is over
  }));

test('--login-max-failures 0 turns throttling off', () =>
  withThrottle(0, async (t) => {
    for (let i = 0; i < 20; i++) await t.fail('alice', '203.0.113.1', 1);
    await t.check('alice', '203.0.113.1', 1);
  }));
