/**
 * Secrets on a key set: a value sealed on one node opens on another sharing the keys, also after
 * a rotation, and one sealed before key ids (no key id: the set's first key) still opens.
 */
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { DeployTarget, InstancePool, Principal } from '../core/index.js';
import type { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { withStorePair as twoNodes } from '../../test/support/store-pair.js';
import { Catalog } from './catalog.js';
import { Secrets } from './secrets.js';

const admin: Principal = { subject: 'admin', groups: ['root', 'custom:team'], tokenId: 't', via: 'api-token' };
/** What an instance of a version listing `names` gets. */
const target = (names: string[]): DeployTarget => ({ function: 'f', version: 'v1', config: { secrets: names } }) as unknown as DeployTarget;

/** Secrets of one node on `store`, with a function `f` of `custom:team` in its catalog. */
function node(store: SqliteStore): Secrets {
  const catalog = new Catalog(new Set());
  catalog.putFunction({ name: 'f', owner: 'custom:team', createdAt: 1 });
  // No version routes here, so no instance is ever rolled: the pool is never called.
  return new Secrets({ store, catalog, pool: {} as InstancePool, warn: () => {} });
}


test('a secret sealed on one node opens on another, before and after a rotation', () =>
  twoNodes(async (a, b) => {
    const one = node(a);
    const two = node(b);
    await one.create(admin, { name: 'BEFORE', value: 'sealed-before-rotation', group: 'custom:team' });
    const first = (await a.secrets.get('custom:team', 'BEFORE'))!;
    assert.equal(first.keyId, (await a.keys.keySet('secrets-aes256', () => randomBytes(32))).current.id, 'the record names its key');
    assert.deepEqual(await two.envFor(target(['BEFORE'])), { BEFORE: 'sealed-before-rotation' });
    const rotated = await b.keys.rotate('secrets-aes256', () => randomBytes(32));
    await two.create(admin, { name: 'AFTER', value: 'sealed-after-rotation', group: 'custom:team' });
    assert.equal((await b.secrets.get('custom:team', 'AFTER'))!.keyId, rotated.current.id);
    // Node one learns of the rotation when it meets the new key id.
    assert.deepEqual(await one.envFor(target(['BEFORE', 'AFTER'])), { BEFORE: 'sealed-before-rotation', AFTER: 'sealed-after-rotation' });
  }));

test('a secret sealed before key ids (no key id) opens with the first key, after a rotation too', () =>
  twoNodes(async (a) => {
    // What an older Ferry stored: sealed with the single key file, no key id.
    const legacyKey = await a.keys.get('secrets-aes256', () => randomBytes(32));
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', legacyKey, iv);
    c.setAAD(Buffer.from('custom:team\0OLD'));
    const data = Buffer.concat([c.update('from-an-older-ferry', 'utf8'), c.final()]);
    await a.secrets.put({ owner: 'custom:team', name: 'OLD', sealed: Buffer.concat([iv, c.getAuthTag(), data]), createdAt: 1, updatedAt: 1 });
    await a.keys.rotate('secrets-aes256', () => randomBytes(32));
    assert.deepEqual(await node(a).envFor(target(['OLD'])), { OLD: 'from-an-older-ferry' });
  }));
