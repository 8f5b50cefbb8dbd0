/** Conformance tests of users, token kinds, keys and login throttles of a `Store`. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { UserRecord } from '../../core/records.js';
import { rejectsWith, tokenRecord, withStore, type OpenStore } from './fixtures.js';

const user = (name: string, over: Partial<UserRecord> = {}): UserRecord => ({ name, passwordHash: 'scrypt$x', groups: ['permission:read'], createdAt: 1, updatedAt: 1, ...over });

export function tenancyTests(open: OpenStore): void {
  const run = withStore(open);

  describe('users', () => {
    it('create, get, list (by name), update and delete', () =>
      run(async (s) => {
        await s.users.create(user('bob'));
        await s.users.create(user('alice', { passwordHash: null }));
        await rejectsWith(s.users.create(user('bob')), 'user-exists');
        assert.deepEqual((await s.users.list()).map((u) => u.name), ['alice', 'bob']);
        assert.deepEqual(await s.users.get('alice'), user('alice', { passwordHash: null }));
        const u = await s.users.update('bob', { groups: ['custom:team'], updatedAt: 5 });
        assert.deepEqual(u, user('bob', { groups: ['custom:team'], updatedAt: 5 }));
        assert.equal(await s.users.update('ghost', { groups: [], updatedAt: 5 }), undefined);
        assert.equal(await s.users.delete('bob', 9), true);
        assert.equal(await s.users.delete('bob', 9), false);
        assert.equal(await s.users.get('bob'), undefined);
      }));

    it("deleting a user revokes every token it holds, at once", () =>
      run(async (s) => {
        await s.users.create(user('bob'));
        await s.tokens.create(tokenRecord('a', { subject: 'bob' }));
        await s.tokens.create(tokenRecord('b', { subject: 'bob', kind: 'refresh' }));
        await s.tokens.create(tokenRecord('c', { subject: 'carol' }));
        await s.users.delete('bob', 77);
        assert.equal((await s.tokens.get('a'))?.revokedAt, 77);
        assert.equal((await s.tokens.get('b'))?.revokedAt, 77);
        assert.equal((await s.tokens.get('c'))?.revokedAt, null);
      }));
  });

  describe('token kinds', () => {
    it('list filters by subject and kind; revoke marks once', () =>
      run(async (s) => {
        await s.tokens.create(tokenRecord('a', { subject: 'bob' }));
        await s.tokens.create(tokenRecord('b', { subject: 'bob', kind: 'refresh' }));
        await s.tokens.create(tokenRecord('c', { subject: 'eve' }));
        assert.deepEqual((await s.tokens.list({ subject: 'bob', kind: 'api' })).map((t) => t.id), ['a']);
        assert.deepEqual((await s.tokens.list({ kind: 'api' })).map((t) => t.id), ['a', 'c']);
        assert.equal(await s.tokens.revoke('a', 10), true);
        assert.equal(await s.tokens.revoke('a', 11), false, 'already revoked');
        assert.equal((await s.tokens.get('a'))?.revokedAt, 10);
      }));

    it('consume succeeds once, never on an expired token', () =>
      run(async (s) => {
        await s.tokens.create(tokenRecord('r', { kind: 'refresh', expiresAt: 1000 }));
        await s.tokens.create(tokenRecord('old', { kind: 'refresh', expiresAt: 10 }));
        const [a, b] = await Promise.all([s.tokens.consume('hash-r', 500), s.tokens.consume('hash-r', 500)]);
        assert.equal([a, b].filter(Boolean).length, 1, 'exactly one of two concurrent uses wins');
        assert.equal(await s.tokens.consume('hash-old', 500), undefined);
      }));

    it('prune drops tokens revoked or expired before the bound', () =>
      run(async (s) => {
        await s.tokens.create(tokenRecord('live', { expiresAt: 5000 }));
        await s.tokens.create(tokenRecord('gone', { expiresAt: 50 }));
        await s.tokens.create(tokenRecord('revoked', { revokedAt: 60 }));
        await s.tokens.prune(100);
        assert.deepEqual((await s.tokens.list({})).map((t) => t.id), ['live']);
      }));
  });

  describe('keys and throttles', () => {
    it('a key is created once and then always the same', () =>
      run(async (s) => {
        let made = 0;
        const make = () => (made++, Buffer.alloc(32, made));
        const [k1, k2] = await Promise.all([s.keys.get('test-key', make), s.keys.get('test-key', make)]);
        assert.deepEqual(k1, k2);
        assert.equal(k1.length, 32);
        assert.deepEqual(await s.keys.get('test-key', make), k1);
      }));

    it('throttle counters: put, get, delete, prune', () =>
      run(async (s) => {
        await s.throttles.put({ key: 'k', failures: 3, firstAt: 10, blockedUntil: 0 });
        assert.deepEqual(await s.throttles.get('k'), { key: 'k', failures: 3, firstAt: 10, blockedUntil: 0 });
        await s.throttles.put({ key: 'k', failures: 4, firstAt: 10, blockedUntil: 99 });
        assert.equal((await s.throttles.get('k'))?.failures, 4);
        await s.throttles.prune(50);
        assert.ok(await s.throttles.get('k'), 'still blocked at 50');
        await s.throttles.prune(100);
        assert.equal(await s.throttles.get('k'), undefined);
      }));
  });
}
