/** Conformance tests of aliases and API tokens of a `Store`. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aliasRecord, fnRecord, rejectsWith, tokenRecord, versionRecord, withStore, type OpenStore } from './fixtures.js';

export function aliasTokenTests(open: OpenStore): void {
  const run = withStore(open);

  describe('aliases', () => {
    it('putAlias stores both target shapes; listAliases answers them sorted by name', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        const prod = aliasRecord('f', 'prod', { target: { version: 'v2' } });
        const canary = aliasRecord('f', 'canary', { target: { weights: { v1: 90, v2: 10 } } });
        await s.putAlias(prod);
        await s.putAlias(canary);
        assert.deepEqual(await s.listAliases('f'), [canary, prod]);
        assert.deepEqual(await s.listAliases('ghost'), []);
      }));

    it('putAlias on an existing alias replaces target and updatedAt', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        await s.putAlias(aliasRecord('f', 'prod', { target: { version: 'v1' } }));
        const moved = aliasRecord('f', 'prod', { target: { weights: { v1: 50, v2: 50 } }, updatedAt: 99 });
        await s.putAlias(moved);
        assert.deepEqual(await s.listAliases('f'), [moved]);
      }));

    it('the same alias name in two functions is two aliases', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        await s.ensureFunction(fnRecord('g'));
        await s.putAlias(aliasRecord('f', 'prod', { target: { version: 'v1' } }));
        await s.putAlias(aliasRecord('g', 'prod', { target: { version: 'v9' } }));
        assert.deepEqual((await s.listAliases('f')).map((a) => a.target), [{ version: 'v1' }]);
        assert.deepEqual((await s.listAliases('g')).map((a) => a.target), [{ version: 'v9' }]);
      }));

    it('putAlias for an unknown function fails with function-not-found', () =>
      run(async (s) => {
        await rejectsWith(s.putAlias(aliasRecord('ghost', 'prod')), 'function-not-found');
      }));

    it('deleteAlias answers whether the alias existed', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        await s.putAlias(aliasRecord('f', 'prod'));
        await s.putAlias(aliasRecord('f', 'beta'));
        assert.equal(await s.deleteAlias('f', 'prod'), true);
        assert.equal(await s.deleteAlias('f', 'prod'), false);
        assert.equal(await s.deleteAlias('ghost', 'prod'), false);
        assert.deepEqual((await s.listAliases('f')).map((a) => a.alias), ['beta']);
      }));

    it('deleteFunction removes its aliases, not those of other functions', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        await s.ensureFunction(fnRecord('g'));
        await s.createVersion(versionRecord('f', 'v1', 1));
        await s.putAlias(aliasRecord('f', 'prod'));
        await s.putAlias(aliasRecord('g', 'prod'));
        await s.deleteFunction('f');
        assert.deepEqual(await s.listAliases('f'), []);
        // A recreated function does not inherit the old aliases.
        await s.ensureFunction(fnRecord('f'));
        assert.deepEqual(await s.listAliases('f'), []);
        assert.equal((await s.listAliases('g')).length, 1);
      }));
  });

  describe('tokens', () => {
    it('tokens.findByHash round-trips a token; an unknown hash answers undefined', () =>
      run(async (s) => {
        const a = tokenRecord('a');
        const b = tokenRecord('b', { groups: [], expiresAt: 1_800_000_000_000, revokedAt: 1_750_000_000_000 });
        await s.tokens.create(a);
        await s.tokens.create(b);
        assert.deepEqual(await s.tokens.findByHash('hash-a'), a);
        assert.deepEqual(await s.tokens.findByHash('hash-b'), b);
        assert.equal(await s.tokens.findByHash('hash-zzz'), undefined);
        assert.equal(await s.tokens.findByHash('a'), undefined, 'looks up by hash, not by id');
      }));

    it('tokens.count counts every stored token', () =>
      run(async (s) => {
        assert.equal(await s.tokens.count(), 0);
        await s.tokens.create(tokenRecord('a'));
        await s.tokens.create(tokenRecord('b', { revokedAt: 5 }));
        assert.equal(await s.tokens.count(), 2);
      }));

    it('tokens.create refuses a second token with the same hash', () =>
      run(async (s) => {
        await s.tokens.create(tokenRecord('a'));
        await assert.rejects(s.tokens.create(tokenRecord('b', { hash: 'hash-a' })));
        assert.equal(await s.tokens.count(), 1);
        assert.equal((await s.tokens.findByHash('hash-a'))?.id, 'a');
      }));
  });
}
