import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { FerryError } from '../errors/index.js';
import { AccessTokens, Authenticator, LoginThrottle } from '../auth/index.js';
import { Accounts } from '../service/index.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { BrowserSessions, CSRF_HEADER, SESSION_COOKIE } from './browser-sessions.js';

const password = 'dana-Passw0rd-long';
const minute = 60_000;

/**
 * Sessions over a real store and authenticator; access tokens live 10 s, under the sessions' 30 s
 * renewal margin, so every use renews one (and a loaded machine cannot outlast one mid-login).
 */
async function withSessions(fn: (s: BrowserSessions, clock: { now: number }) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-sessions-'));
  const store = new SqliteStore({ dataDir: dir });
  try {
    const auth = new Authenticator(store, new AccessTokens(store.keys, 10_000));
    const accounts = new Accounts({ store, access: new AccessTokens(store.keys, 10_000), throttle: new LoginThrottle(store.throttles, 5), registration: 'closed', defaultGroups: ['permission:read'], refreshTtlMs: 86_400_000, changed: () => auth.forget() });
    await accounts.createUser({ name: 'dana', password });
    const clock = { now: Date.now() };
    await fn(new BrowserSessions(accounts, auth, () => clock.now), clock);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function request(method: string, headers: Record<string, string> = {}): IncomingMessage {
  return { method, headers, socket: {} } as unknown as IncomingMessage;
}

async function login(s: BrowserSessions): Promise<{ cookie: string; csrf: string; setCookie: string }> {
  const { view, setCookie } = await s.open({ name: 'dana', password }, request('POST'), '127.0.0.1', false);
  const id = new RegExp(`^${SESSION_COOKIE}=([^;]+);`).exec(setCookie)![1]!;
  return { cookie: `${SESSION_COOKIE}=${id}`, csrf: view.csrf!, setCookie };
}

const fails = (p: Promise<unknown>, code: string): Promise<void> => assert.rejects(p, (e: unknown) => e instanceof FerryError && e.code === code);

test('a login sets an HttpOnly, SameSite=Strict cookie of an id; reads need only it, changes also the CSRF token', () =>
  withSessions(async (s) => {
    const { cookie, csrf, setCookie } = await login(s);
    assert.match(setCookie, /; HttpOnly/);
    assert.match(setCookie, /; SameSite=Strict/);
    assert.doesNotMatch(setCookie, /eyJ|fry_/, 'the cookie holds no token');
    assert.doesNotMatch(setCookie, /Secure/, 'plain HTTP: a Secure cookie would not come back');
    assert.match((await s.open({ name: 'dana', password }, request('POST'), '127.0.0.1', true)).setCookie, /; Secure/);
    assert.match((await s.authorization(request('GET', { cookie })))!, /^Bearer eyJ/);
    await fails(s.authorization(request('POST', { cookie })), 'csrf-refused');
    await fails(s.authorization(request('DELETE', { cookie, [CSRF_HEADER]: `${csrf.slice(0, -1)}x` })), 'csrf-refused');
    assert.match((await s.authorization(request('PUT', { cookie, [CSRF_HEADER]: csrf })))!, /^Bearer /);
    assert.equal(await s.authorization(request('POST', {})), undefined, 'no cookie: not a session request');
    await fails(s.authorization(request('GET', { cookie: `${SESSION_COOKIE}=made-up` })), 'session-expired');
  }));

test('a password login renews its access token with the refresh token before it expires', () =>
  withSessions(async (s) => {
    const { cookie } = await login(s);
    const first = await s.authorization(request('GET', { cookie }));
    const second = await s.authorization(request('GET', { cookie }));
    assert.notEqual(first, second, 'a new access token each time the old one is near its end');
  }));

test('a session ends after an hour unused, after 12 hours however busy, and at logout', () =>
  withSessions(async (s, clock) => {
    const idle = await login(s);
    clock.now += 59 * minute;
    await s.authorization(request('GET', { cookie: idle.cookie }));
    clock.now += 61 * minute;
    await fails(s.authorization(request('GET', { cookie: idle.cookie })), 'session-expired');

    const busy = await login(s);
    for (let i = 0; i < 23; i++) {
      clock.now += 30 * minute;
      await s.authorization(request('GET', { cookie: busy.cookie }));
    }
    clock.now += 30 * minute;
    await fails(s.authorization(request('GET', { cookie: busy.cookie })), 'session-expired');

    const out = await login(s);
    assert.match(await s.close(request('DELETE', { cookie: out.cookie })), /Max-Age=0/);
    await fails(s.authorization(request('GET', { cookie: out.cookie })), 'session-expired');
  }));

test('a wrong password or token opens no session', () =>
  withSessions(async (s) => {
    await fails(s.open({ name: 'dana', password: 'wrong-password' }, request('POST'), '127.0.0.1', false), 'invalid-credentials');
    await fails(s.open({ token: 'fry_not-a-token' }, request('POST'), '127.0.0.1', false), 'token-malformed');
    await fails(s.open({ name: 'dana' }, request('POST'), '127.0.0.1', false), 'invalid-body');
  }));
