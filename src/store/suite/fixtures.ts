/**
 * Record builders and helpers shared by the store conformance suite. The records fill every
 * optional member, so a round trip that drops or mangles one shows up as a deep-equal failure.
 */
import assert from 'node:assert/strict';
import type { Store } from '../../core/store.js';
import type { AliasRecord, FunctionRecord, LogLine, TokenRecord, VersionRecord } from '../../core/records.js';
import { isFerryError, type ErrorCode } from '../../errors/index.js';

/** What the suite needs from a store under test. */
export interface StoreHarness {
  store: Store;
  /** Closes every store this harness handed out (some may be closed already) and deletes the data. */
  cleanup(): Promise<void>;
  /**
   * Optional: a new store on the same data as `store`, which the suite has closed before calling
   * this. Stores whose data cannot outlive the instance leave it out and skip the reopen tests.
   */
  reopen?(): Promise<Store>;
  /**
   * A second store on the same data, open beside `store` (another process would open the same);
   * the harness closes it. Stores that cannot share their data with a second instance leave it out.
   */
  peer?(): Promise<Store>;
}

/** Opens a fresh, empty store for one test. */
export type OpenStore = () => Promise<StoreHarness>;

/** Runs `body` on a fresh store and always cleans up. */
export function withStore(open: OpenStore) {
  return async (body: (store: Store, harness: StoreHarness) => Promise<void>): Promise<void> => {
    const harness = await open();
    try {
      await body(harness.store, harness);
    } finally {
      await harness.cleanup();
    }
  };
}

/** Asserts that `p` rejects with a FerryError of `code`. */
export async function rejectsWith(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isFerryError(err), `expected a FerryError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

const t0 = 1_700_000_000_000;

export function fnRecord(name: string, over: Partial<FunctionRecord> = {}): FunctionRecord {
  return { name, createdAt: t0, owner: `singular:${name}-owner`, ...over };
}

export function versionRecord(fn: string, version: string, seq: number, over: Partial<VersionRecord> = {}): VersionRecord {
  return {
    function: fn,
    version,
    seq,
    packageSha: `sha-${fn}-${version}`,
    packageSize: 1234 + seq,
    manifest: {
      runtime: 'node',
      handler: 'index.handler',
      command: ['node', 'server.js', '--port', '8080'],
      env: { GREETING: 'hello, "world" ✓', EMPTY: '' },
      scaling: { concurrency: 8, minInstances: 0, maxInstances: 3, idleTimeoutMs: 60_000, maxQueue: 10 },
      limits: { timeoutMs: 5000, memoryMb: 128 },
      invoke: 'token',
    },
    override: { env: { MODE: 'prod' }, scaling: { maxInstances: 2 } },
    buildLog: 'npm ci\nadded 3 packages\n',
    createdAt: t0 + seq,
    updatedAt: t0 + seq,
    ...over,
  };
}

export function aliasRecord(fn: string, alias: string, over: Partial<AliasRecord> = {}): AliasRecord {
  return { function: fn, alias, target: { version: 'v1' }, updatedAt: t0, ...over };
}

export function tokenRecord(id: string, over: Partial<TokenRecord> = {}): TokenRecord {
  return {
    id,
    kind: 'api',
    hash: `hash-${id}`,
    prefix: `fy_${id}`.slice(0, 8),
    subject: `user-${id}`,
    groups: ['admins', `singular:user-${id}`],
    label: '',
    createdAt: t0,
    expiresAt: null,
    revokedAt: null,
    ...over,
  };
}

export function logLine(fn: string, n: number, over: Partial<LogLine> = {}): LogLine {
  return {
    time: t0 + n,
    function: fn,
    version: 'v1',
    instance: 'i-1',
    stream: 'stdout',
    requestId: `req-${n}`,
    line: `line ${n}`,
    ...over,
  };
}

/** Strips the ids the store assigned, for comparing with what was appended. */
export function withoutIds(lines: Array<LogLine & { id: number }>): LogLine[] {
  return lines.map(({ id: _id, ...line }) => line);
}
