/**
 * Access tokens on a key set: a token names its key (`kid`), verifies on another node sharing the
 * keys, survives a rotation, and one signed before key ids (no `kid`) still verifies.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { SignJWT, decodeProtectedHeader } from 'jose';
import type { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { withStorePair as twoNodes } from '../../test/support/store-pair.js';
import { AccessTokens, ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER } from './access-tokens.js';


test('a token signed on one node verifies on another, before and after a rotation', () =>
  twoNodes(async (a, b) => {
    const one = new AccessTokens(a.keys, 60_000);
    const two = new AccessTokens(b.keys, 60_000);
    const before = await one.sign('alice');
    const kid = decodeProtectedHeader(before.token).kid;
    assert.equal(kid, (await a.keys.keySet('jwt-hs256', () => randomBytes(32))).current.id, 'the token names its key');
    assert.equal((await two.verify(before.token)).subject, 'alice');
    // Node two rotates; node one, which read its key set before, still verifies what two signs now.
    const rotated = await b.keys.rotate('jwt-hs256', () => randomBytes(32));
    assert.notEqual(rotated.current.id, kid);
    const after = await two.sign('bob');
    assert.equal(decodeProtectedHeader(after.token).kid, rotated.current.id);
    assert.equal((await one.verify(after.token)).subject, 'bob');
    assert.equal((await two.verify(before.token)).subject, 'alice', 'a token of the earlier key still verifies');
  }));

test('a token from before key ids (no kid, the first key) still verifies; a forged one does not', () =>
  twoNodes(async (a) => {
    // What an older Ferry signed: the single key file, no kid.
    const legacyKey = await a.keys.get('jwt-hs256', () => randomBytes(32));
    const sign = (key: Uint8Array): Promise<string> =>
      new SignJWT({}).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject('carol').setIssuer(ACCESS_TOKEN_ISSUER).setAudience(ACCESS_TOKEN_AUDIENCE).setIssuedAt().setExpirationTime('5m').sign(key);
    const tokens = new AccessTokens(a.keys, 60_000);
    await a.keys.rotate('jwt-hs256', () => randomBytes(32));
    assert.equal((await tokens.verify(await sign(legacyKey))).subject, 'carol');
    await assert.rejects(tokens.verify(await sign(randomBytes(32))), { code: 'invalid-token' });
  }));
