/**
 * One repository of one registry, spoken to with the distribution API v2: GETs under
 * `/v2/<repo>/`, authenticated as the registry asks (anonymous, Basic with a login, or a Bearer
 * token from its realm, fetched anonymously or with the login).
 */
import { FerryError } from '../errors/index.js';
import { parseChallenge, type Challenge, type TokenCache } from './registry-auth.js';
import { basicAuthorization, type RegistryLogin } from './registry-credentials.js';
import type { RegistryResponse, RegistryTransport } from './registry-http.js';

export class RepositoryClient {
  private scheme: Challenge | undefined;
  private readonly scope: string;

  constructor(
    private readonly registry: string,
    private readonly repository: string,
    private readonly transport: RegistryTransport,
    private readonly tokens: TokenCache,
    private readonly login: RegistryLogin | undefined,
  ) {
    this.scope = `repository:${repository}:pull`;
  }

  /**
   * GETs `/v2/<repo>/<path>`. Answers any status but 401/403, which become `registry-denied`
   * once the registry's challenge has been met and still refused.
   */
  async get(path: string, accept?: string): Promise<RegistryResponse> {
    const url = new URL(`/v2/${this.repository}/${path}`, this.transport.baseUrl(this.registry));
    this.scheme ??= this.tokens.challengeOf(this.registry);
    let fresh = false;
    // At most: anonymous, then a cached token, then a token fetched anew.
    for (let attempt = 0; attempt < 3; attempt++) {
      const headers: Record<string, string> = {};
      if (accept) headers.accept = accept;
      const sent = await this.authorization(fresh);
      if (sent) headers.authorization = sent.header;
      const res = await this.transport.get(url, headers);
      if (res.status === 403) {
        res.body.resume();
        throw new FerryError('registry-denied', `${this.registry} refused access to ${this.repository} (403)`);
      }
      if (res.status !== 401) return res;
      res.body.resume();
      const challenge = parseChallenge(header(res.headers['www-authenticate']));
      if (!challenge) throw new FerryError('registry-denied', `${this.registry} answered 401 without a Basic or Bearer challenge`);
      if (sent?.fresh) {
        throw new FerryError('registry-denied', `${this.registry} refused ${this.login ? 'the credentials' : 'anonymous access'} for ${this.repository} (401)`);
      }
      if (challenge.scheme === 'basic' && !this.login) {
        throw new FerryError('registry-denied', `${this.registry} needs credentials for ${this.repository} (--registry-auth-file, or the deploy's registry credentials)`);
      }
      // A cached token the registry refused (it expired early, or was revoked): fetch anew.
      if (sent && this.scheme?.scheme === 'bearer') {
        this.tokens.drop(this.scheme, this.scope, this.login);
        fresh = true;
      }
      this.scheme = challenge;
      this.tokens.rememberChallenge(this.registry, challenge);
    }
    throw new FerryError('registry-denied', `${this.registry} kept answering 401 for ${this.repository}`);
  }

  private async authorization(fresh: boolean): Promise<{ header: string; fresh: boolean } | undefined> {
    const s = this.scheme;
    if (!s) return undefined;
    if (s.scheme === 'basic') return this.login ? { header: basicAuthorization(this.login), fresh: true } : undefined;
    const cached = fresh ? undefined : this.tokens.cached(s, this.scope, this.login);
    if (cached) return { header: `Bearer ${cached}`, fresh: false };
    return { header: `Bearer ${await this.tokens.fetch(s, this.scope, this.login)}`, fresh: true };
  }
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
