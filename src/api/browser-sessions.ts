import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { FerryError } from '../errors/index.js';
import { SESSION_COOKIE, type Authenticator } from '../auth/index.js';
import type { Accounts } from '../service/index.js';

/** The cookie that names a browser session: HttpOnly, SameSite=Strict, never readable by a script; never passed on to a function. */
export { SESSION_COOKIE };
/** The header a change made with the session cookie must carry, holding the session's CSRF token. */
export const CSRF_HEADER = 'x-csrf-token';

/** A session unused this long ends. */
const IDLE_MS = 60 * 60_000;
/** No session outlives this, however busy. */
const MAX_MS = 12 * 60 * 60_000;
/** An access token this close to its expiry is renewed before the request goes on. */
const RENEW_MS = 30_000;
/** Sessions held at most; past it the least recently used go first. */
const MAX_SESSIONS = 10_000;

/** What a session stands on: an API token the user typed in, or a password login's token pair. */
type Credential = { kind: 'token'; token: string } | { kind: 'login'; access: string; accessUntil: number; refresh: string };

interface Session {
  user: string;
  csrf: string;
  credential: Credential;
  expiresAt: number;
  lastUsedAt: number;
  renewing: Promise<void> | undefined;
}

/** What the page learns of its session (a caller with a token and no cookie: `csrf` and `expiresAt` null). */
export interface SessionView {
  user: string;
  groups: string[];
  csrf: string | null;
  expiresAt: string | null;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('base64url');

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Methods that change nothing: they need no CSRF token (SameSite=Strict keeps other sites' pages from sending the cookie at all). */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The dashboard's sessions, held in this server's memory: the cookie carries only a random id
 * (stored hashed), the credential behind it never leaves the server, so no token sits in the
 * browser for a script to read. A request with the cookie and no `Authorization` is
 * authenticated as its session's credential, through the same authenticator and permission
 * table as every other caller; a change also needs the session's CSRF token in `X-CSRF-Token`
 * (synchronizer token: a page of another origin can make the browser send the cookie, never
 * read the token). Sessions end on logout, after an hour unused, after 12 hours, or with the
 * server process.
 */
export class BrowserSessions {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly accounts: Accounts,
    private readonly auth: Authenticator,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Logs in with `{name, password}` or `{token}`: the session, and the `Set-Cookie` value that
   * hands its id to the browser (`secure`: the browser reached Ferry over TLS, so the cookie is
   * `Secure`). A wrong password or token fails as it would on the API.
   */
  async open(body: unknown, req: IncomingMessage, address: string, secure: boolean): Promise<{ view: SessionView; setCookie: string }> {
    const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    let credential: Credential;
    if (typeof b.token === 'string' && b.name === undefined && b.password === undefined) {
      credential = { kind: 'token', token: b.token };
    } else if (typeof b.name === 'string' && typeof b.password === 'string' && b.token === undefined) {
      const s = await this.accounts.login({ name: b.name, password: b.password }, address);
      credential = { kind: 'login', access: s.accessToken, accessUntil: this.now() + s.expiresIn * 1000, refresh: s.refreshToken };
    } else {
      throw new FerryError('invalid-body', 'expected {"name": "...", "password": "..."} or {"token": "..."}');
    }
    const principal = await this.auth.authenticate(`Bearer ${this.bearer(credential)}`, req);
    const now = this.now();
    this.sweep(now);
    const id = randomBytes(32).toString('base64url');
    const session: Session = { user: principal.subject, csrf: randomBytes(32).toString('base64url'), credential, expiresAt: now + MAX_MS, lastUsedAt: now, renewing: undefined };
    this.sessions.set(sha256(id), session);
    const setCookie = `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.round(MAX_MS / 1000)}${secure ? '; Secure' : ''}`;
    return { view: { user: principal.subject, groups: principal.groups, csrf: session.csrf, expiresAt: new Date(session.expiresAt).toISOString() }, setCookie };
  }

  /**
   * The `Authorization` value a request stands for by its session cookie, or undefined when it
   * carries none. A cookie of no live session is `session-expired`; a change without the
   * session's CSRF token is `csrf-refused`, before anything else is looked at.
   */
  async authorization(req: IncomingMessage): Promise<string | undefined> {
    const id = cookieValue(req, SESSION_COOKIE);
    if (id === undefined) return undefined;
    const session = this.live(id);
    if (!SAFE.has(req.method ?? 'GET')) {
      const sent = req.headers[CSRF_HEADER];
      if (typeof sent !== 'string' || !sameSecret(sent, session.csrf)) {
        throw new FerryError('csrf-refused', `a change made with the session cookie needs the session's token in ${CSRF_HEADER} (GET /v1/auth/session answers it)`);
      }
    }
    await this.renew(id, session);
    return `Bearer ${this.bearer(session.credential)}`;
  }

  /** The request's session as the page sees it (the caller's name and groups come from its principal). */
  view(req: IncomingMessage, caller: { subject: string; groups: string[] }): SessionView {
    const id = cookieValue(req, SESSION_COOKIE);
    const groups = caller.groups;
    if (id === undefined || req.headers.authorization !== undefined) return { user: caller.subject, groups, csrf: null, expiresAt: null };
    const session = this.live(id);
    return { user: session.user, groups, csrf: session.csrf, expiresAt: new Date(session.expiresAt).toISOString() };
  }

  /** Ends the request's session (and its login's refresh token); answers the `Set-Cookie` that clears the cookie. */
  async close(req: IncomingMessage): Promise<string> {
    const id = cookieValue(req, SESSION_COOKIE);
    const session = id === undefined ? undefined : this.sessions.get(sha256(id));
    if (id !== undefined) this.sessions.delete(sha256(id));
    if (session?.credential.kind === 'login') await this.accounts.logout({ refreshToken: session.credential.refresh });
    return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
  }

  private live(id: string): Session {
    const key = sha256(id);
    const session = this.sessions.get(key);
    const now = this.now();
    if (!session || session.expiresAt <= now || session.lastUsedAt + IDLE_MS <= now) {
      this.sessions.delete(key);
      throw new FerryError('session-expired', 'the browser session has ended: log in again');
    }
    session.lastUsedAt = now;
    // Most recently used last, so the sweep finds the least recently used first.
    this.sessions.delete(key);
    this.sessions.set(key, session);
    return session;
  }

  /** A login's access token lives minutes: it is renewed with the refresh token, once at a time. */
  private async renew(id: string, session: Session): Promise<void> {
    const c = session.credential;
    if (c.kind !== 'login' || c.accessUntil - this.now() > RENEW_MS) return;
    session.renewing ??= this.accounts
      .refresh({ refreshToken: c.refresh })
      .then((s) => {
        session.credential = { kind: 'login', access: s.accessToken, accessUntil: this.now() + s.expiresIn * 1000, refresh: s.refreshToken };
      })
      .catch(() => {
        this.sessions.delete(sha256(id));
      })
      .finally(() => {
        session.renewing = undefined;
      });
    await session.renewing;
    if (!this.sessions.has(sha256(id))) throw new FerryError('session-expired', 'the browser session could not be renewed: log in again');
  }

  private bearer(c: Credential): string {
    return c.kind === 'token' ? c.token : c.access;
  }

  /** Drops ended sessions, and the least recently used past the cap. */
  private sweep(now: number): void {
    for (const [key, s] of this.sessions) if (s.expiresAt <= now || s.lastUsedAt + IDLE_MS <= now) this.sessions.delete(key);
    for (const key of this.sessions.keys()) {
      if (this.sessions.size < MAX_SESSIONS) break;
      this.sessions.delete(key);
    }
  }
}
