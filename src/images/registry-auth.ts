/**
 * How a registry asks to be authenticated (`WWW-Authenticate`) and the bearer tokens its realm
 * hands out. Tokens are cached in memory until they expire and dropped when the registry answers
 * 401 to one; they and the logins behind them are never logged or stored.
 */
import { createHash } from 'node:crypto';
import { FerryError } from '../errors/index.js';
import { basicAuthorization, type RegistryLogin } from './registry-credentials.js';
import { readSmall, TransientRegistryError, type RegistryTransport } from './registry-http.js';

/** A parsed `WWW-Authenticate` challenge. */
export type Challenge = { scheme: 'basic' } | { scheme: 'bearer'; realm: string; service: string | undefined; scope: string | undefined };

/** Parses the first Basic or Bearer challenge of a header; undefined for anything else. */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  if (scheme === 'basic') return { scheme: 'basic' };
  if (scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
  }
  if (!params.realm) return undefined;
  return { scheme: 'bearer', realm: params.realm, service: params.service, scope: params.scope };
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

const maxTokenBytes = 1024 * 1024;
// A token without `expires_in` lives 60 s (the distribution spec's default); renew a little early.
const defaultLifetimeS = 60;
const earlyMs = 5000;

/** Bearer tokens by realm, service, scope and the login that fetched them. */
export class TokenCache {
  private readonly tokens = new Map<string, CachedToken>();
  private readonly challenges = new Map<string, Challenge>();

  constructor(private readonly transport: RegistryTransport) {}

  private key(c: Extract<Challenge, { scheme: 'bearer' }>, scope: string, login: RegistryLogin | undefined): string {
    // The login is part of the key so two users' tokens never mix; only a hash of it is kept.
    const who = login ? createHash('sha256').update(basicAuthorization(login)).digest('hex') : '';
    return JSON.stringify([c.realm, c.service ?? '', scope, who]);
  }

  /** How a registry last asked to be authenticated, so the next pull asks for a token first. */
  challengeOf(registry: string): Challenge | undefined {
    return this.challenges.get(registry);
  }

  rememberChallenge(registry: string, c: Challenge): void {
    this.challenges.set(registry, c);
  }

  /** A cached token that has not expired, if any. */
  cached(c: Extract<Challenge, { scheme: 'bearer' }>, scope: string, login: RegistryLogin | undefined): string | undefined {
    const k = this.key(c, scope, login);
    const t = this.tokens.get(k);
    if (t && t.expiresAt > Date.now()) return t.token;
    this.tokens.delete(k);
    return undefined;
  }

  /** Forgets a token the registry refused. */
  drop(c: Extract<Challenge, { scheme: 'bearer' }>, scope: string, login: RegistryLogin | undefined): void {
    this.tokens.delete(this.key(c, scope, login));
  }

  /** Fetches a token from the realm (with the login, if any) and caches it. */
  async fetch(c: Extract<Challenge, { scheme: 'bearer' }>, scope: string, login: RegistryLogin | undefined): Promise<string> {
    let url: URL;
    try {
      url = new URL(c.realm);
    } catch {
      throw new FerryError('registry-unavailable', `the registry's token realm ${JSON.stringify(c.realm.slice(0, 200))} is not a URL`);
    }
    if (c.service) url.searchParams.set('service', c.service);
    url.searchParams.set('scope', scope);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (login) headers.authorization = basicAuthorization(login);
    const res = await this.transport.get(url, headers);
    if (res.status === 401 || res.status === 403) {
      res.body.resume();
      throw new FerryError('registry-denied', `${url.host} refused ${login ? 'the credentials' : 'an anonymous token'} for ${scope} (${res.status})`);
    }
    if (res.status >= 500 || res.status === 429) {
      res.body.resume();
      throw new TransientRegistryError(`${url.host}: the token endpoint answered ${res.status}`);
    }
    if (res.status !== 200) {
      res.body.resume();
      throw new FerryError('registry-denied', `${url.host}: the token endpoint answered ${res.status}`);
    }
    let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      doc = JSON.parse((await readSmall(res, maxTokenBytes, 'the token answer')).toString('utf8')) as typeof doc;
    } catch (err) {
      if (err instanceof FerryError) throw err;
      throw new FerryError('registry-unavailable', `${url.host}: the token answer is not JSON`);
    }
    const token = typeof doc.token === 'string' && doc.token ? doc.token : typeof doc.access_token === 'string' ? doc.access_token : '';
    if (!token) throw new FerryError('registry-unavailable', `${url.host}: the token answer has no token`);
    const lifetimeS = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : defaultLifetimeS;
    this.tokens.set(this.key(c, scope, login), { token, expiresAt: Date.now() + lifetimeS * 1000 - earlyMs });
    return token;
  }
}
