/** Conformance tests of the secrets and the invocation history of a `Store`. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InvocationRecord, SecretRecord } from '../../core/records.js';
import { withStore, type OpenStore } from './fixtures.js';

const secret = (owner: string, name: string, over: Partial<SecretRecord> = {}): SecretRecord => ({ owner, name, sealed: Buffer.from(`sealed ${owner} ${name}`), keyId: 'k1', createdAt: 1, updatedAt: 1, ...over });
/** A secret sealed before key ids: no `keyId` member at all. */
const legacySecret = (owner: string, name: string): SecretRecord => {
  const { keyId: _none, ...rec } = secret(owner, name);
  return rec;
};

const call = (n: number, over: Partial<InvocationRecord> = {}): InvocationRecord => ({
  id: `inv-${n}`,
  time: 1000 + n,
  function: 'f',
  version: 'v1',
  kind: 'sync',
  status: 200,
  durationMs: 1.5,
  requestId: `req-${n}`,
  executionId: null,
  method: 'POST',
  path: '/',
  requestBody: Buffer.from(`in ${n}`),
  responseBody: Buffer.from(`out ${n}`),
  truncated: false,
  ...over,
});

/** What `list` answers of a record: everything but the payloads. */
const summary = (r: InvocationRecord): InvocationRecord => ({ ...r, requestBody: null, responseBody: null });

export function secretInvocationTests(open: OpenStore): void {
  const run = withStore(open);

  describe('secrets', () => {
    it('put answers whether it replaced one; get, list by owner then name, delete', () =>
      run(async (s) => {
        assert.equal(await s.secrets.put(secret('custom:b', 'X')), false);
        assert.equal(await s.secrets.put(secret('custom:a', 'Z')), false);
        assert.equal(await s.secrets.put(legacySecret('custom:a', 'Y')), false);
        const replaced = secret('custom:b', 'X', { sealed: Buffer.from('new'), keyId: 'k2', updatedAt: 5 });
        assert.equal(await s.secrets.put(replaced), true);
        assert.deepEqual(await s.secrets.get('custom:b', 'X'), replaced, 'the value and its key id are replaced');
        assert.deepEqual(await s.secrets.get('custom:a', 'Y'), legacySecret('custom:a', 'Y'), 'no key id reads back as none');
        assert.deepEqual((await s.secrets.list(undefined)).map((r) => `${r.owner}/${r.name}`), ['custom:a/Y', 'custom:a/Z', 'custom:b/X']);
        assert.deepEqual((await s.secrets.list(['custom:b', 'custom:b'])).map((r) => r.name), ['X']);
        assert.deepEqual(await s.secrets.list([]), []);
        assert.equal(await s.secrets.delete('custom:b', 'X'), true);
        assert.equal(await s.secrets.delete('custom:b', 'X'), false);
        assert.equal(await s.secrets.get('custom:b', 'X'), undefined);
      }));
  });

  describe('invocation history', () => {
    it('lists newest first without payloads, pages by cursor, filters by function; get has the payloads', () =>
      run(async (s) => {
        await s.invocations.append([call(1), call(2, { function: 'g' })]);
        await s.invocations.append([call(3), call(4, { kind: 'async', executionId: 'e-4', requestBody: null, responseBody: null, truncated: true })]);
        assert.deepEqual(await s.invocations.list({ functions: undefined, limit: 10 }), [call(4, { kind: 'async', executionId: 'e-4', truncated: true }), call(3), call(2, { function: 'g' }), call(1)].map(summary));
        const page = await s.invocations.list({ functions: undefined, limit: 2 });
        assert.deepEqual(page.map((r) => r.id), ['inv-4', 'inv-3']);
        assert.deepEqual((await s.invocations.list({ functions: undefined, before: page.at(-1)!.id, limit: 2 })).map((r) => r.id), ['inv-2', 'inv-1']);
        assert.deepEqual((await s.invocations.list({ functions: ['f'], limit: 10 })).map((r) => r.id), ['inv-4', 'inv-3', 'inv-1']);
        assert.deepEqual((await s.invocations.list({ functions: ['g', 'nope'], limit: 10 })).map((r) => r.id), ['inv-2']);
        assert.deepEqual(await s.invocations.get('inv-3'), call(3));
        assert.equal(await s.invocations.get('inv-9'), undefined);
      }));

    it('prune keeps the newest per function and nothing past the age bound', () =>
      run(async (s) => {
        await s.invocations.append([call(1), call(2), call(3), call(4, { function: 'g' }), call(5, { function: 'g', time: 9000 })]);
        await s.invocations.prune({ perFunction: 2, maxAgeMs: Infinity, now: 0 });
        assert.deepEqual((await s.invocations.list({ functions: undefined, limit: 10 })).map((r) => r.id), ['inv-5', 'inv-4', 'inv-3', 'inv-2']);
        await s.invocations.prune({ perFunction: 10, maxAgeMs: 1000, now: 9500 });
        assert.deepEqual((await s.invocations.list({ functions: undefined, limit: 10 })).map((r) => r.id), ['inv-5']);
        await s.invocations.append([call(6, { function: 'g', time: 9100 })]);
        await s.invocations.prune({ perFunction: 0, maxAgeMs: Infinity, now: 0, functions: ['f'] });
        assert.deepEqual((await s.invocations.list({ functions: undefined, limit: 10 })).map((r) => r.id), ['inv-6', 'inv-5'], 'only the functions named are pruned');
      }));

    it('two stores on the same data append to one history', () =>
      run(async (s, harness) => {
        if (!harness.peer) return;
        const other = await harness.peer();
        await s.invocations.append([call(1)]);
        await other.invocations.append([call(2)]);
        await s.invocations.append([call(3)]);
        assert.deepEqual((await other.invocations.list({ functions: undefined, limit: 10 })).map((r) => r.id), ['inv-3', 'inv-2', 'inv-1']);
      }));
  });
}
