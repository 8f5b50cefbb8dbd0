/**
 * Conformance suite of the `Store` interface. Every store implementation runs it from its own
 * test file, so the SQLite store and later ones (NATS JetStream) behave the same:
 *
 *   storeSuite('SqliteStore', async () => ({ store, cleanup, reopen }));
 *
 * Each test opens its own empty store and cleans it up, so the tests are order-independent.
 */
import { describe } from 'node:test';
import { aliasTokenTests } from './suite/aliases-tokens.js';
import type { OpenStore } from './suite/fixtures.js';
import { functionTests } from './suite/functions-versions.js';
import { logTests } from './suite/logs.js';
import { reopenTests } from './suite/reopen.js';
import { tenancyTests } from './suite/tenancy.js';
import { executionTests } from './suite/executions.js';
import { objectTests } from './suite/objects.js';
import { changeFeedTests } from './suite/change-feed.js';
import { compareAndSetTests } from './suite/compare-and-set.js';
import { tombstoneTests } from './suite/tombstones.js';
import { secretInvocationTests } from './suite/secrets-invocations.js';
import { scheduleKeyTests } from './suite/schedules-keys.js';

export type { OpenStore, StoreHarness } from './suite/fixtures.js';

/**
 * Registers the conformance tests under `describe(name)`. `open` answers a fresh, empty store, a
 * `cleanup` that closes it and deletes its data, and optionally `reopen` (see `StoreHarness`).
 */
export function storeSuite(name: string, open: OpenStore): void {
  describe(`Store conformance: ${name}`, () => {
    functionTests(open);
    aliasTokenTests(open);
    logTests(open);
    reopenTests(open);
    tenancyTests(open);
    executionTests(open);
    objectTests(open);
    changeFeedTests(open);
    compareAndSetTests(open);
    tombstoneTests(open);
    secretInvocationTests(open);
    scheduleKeyTests(open);
  });
}
