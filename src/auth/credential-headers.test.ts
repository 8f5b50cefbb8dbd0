import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { AccessTokens } from './access-tokens.js';
import { carriesFerryCredential, SESSION_COOKIE, withoutFerryCredentials } from './credential-headers.js';
import { generateToken } from './tokens.js';
import { withStorePair } from '../../test/support/store-pair.js';

test('fry_ tokens in any scheme and Ferry access tokens are Ferry credentials; other schemes are not', () => withStorePair(async (store) => {
  const token = generateToken();
  const access = (await new AccessTokens(store.keys, 60_000).sign('alice')).token;
  const foreignJwt = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setIssuer('https://auth.example').setAudience('shop').sign(randomBytes(32));
  for (const v of [`Bearer ${token}`, `bearer   ${token}`, `Token ${token}`, `Bearer x, Bearer ${token}`, `Bearer ${access}`, `Bearer ${access.split('.').slice(0, 2).join('.')}.forged`]) {
    assert.ok(carriesFerryCredential(v), v.slice(0, 40));
  }
  for (const v of ['Basic dXNlcjpwYXNz', `Bearer ${foreignJwt}`, 'Bearer notfry_abcdefghijklmnopqrstuvwxyz', 'Bearer fry_short', '']) {
    assert.ok(!carriesFerryCredential(v), v.slice(0, 40));
  }
}));

test('every copy of Authorization and Proxy-Authorization carrying one goes, in any case; the rest stays in order', () => {
  const t = generateToken();
  const raw = ['Host', 'x', 'Authorization', `Bearer ${t}`, 'authorization', 'Basic Zm9v', 'PROXY-AUTHORIZATION', `Bearer ${t}`, 'Proxy-Authorization', 'Basic YmFy', 'X-Other', `Bearer ${t}`, 'AUTHORIZATION', `Bearer ${t}`];
  assert.deepEqual(withoutFerryCredentials(raw), ['Host', 'x', 'authorization', 'Basic Zm9v', 'Proxy-Authorization', 'Basic YmFy', 'X-Other', `Bearer ${t}`]);
  assert.equal(withoutFerryCredentials(['Host', 'x', 'Authorization', 'Basic Zm9v']), undefined, 'nothing to strip: no copy made');
});

test("the dashboard's session cookie goes from every Cookie header; the function's own cookies stay", () => {
  const raw = ['Host', 'x', 'Cookie', `theme=dark; ${SESSION_COOKIE}=abc; cart=3`, 'cookie', `${SESSION_COOKIE}=abc`, 'COOKIE', 'lang=en'];
  assert.deepEqual(withoutFerryCredentials(raw), ['Host', 'x', 'Cookie', 'theme=dark; cart=3', 'COOKIE', 'lang=en']);
  assert.equal(withoutFerryCredentials(['Cookie', `not_${SESSION_COOKIE}=1; x=2`]), undefined, 'a cookie of another name is the function\'s');
});
