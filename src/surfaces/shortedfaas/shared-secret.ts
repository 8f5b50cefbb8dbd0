import type { IncomingMessage } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Authenticator } from '../../auth/index.js';
import { FerryError } from '../../errors/index.js';

/** The environment variable ShortedFaaS reads its shared secret from. */
export const secretVariable = 'ShortedFaaS_SharedSecret';

/**
 * ShortedFaaS's auth, when on: every call carries `Authorization: SharedSecret <s>` with the
 * server's secret, or a Ferry bearer token. The secret is compared as SHA-256 digests in
 * constant time (neither its length nor a matching prefix shows in the time taken). A request
 * that passes with the secret loses its Authorization header here, so the secret never reaches
 * the function, the history or the logs.
 */
export class SharedSecretAuth {
  private readonly digest: Buffer;

  constructor(
    secret: string,
    private readonly auth: Authenticator,
  ) {
    this.digest = createHash('sha256').update(secret).digest();
  }

  /** Throws `unauthorized` unless the request carries the secret or a valid token. */
  async check(req: IncomingMessage): Promise<void> {
    const header = req.headers.authorization ?? '';
    const m = /^SharedSecret[ \t]+(.*)$/i.exec(header);
    if (m) {
      if (!timingSafeEqual(createHash('sha256').update(m[1]!.trim()).digest(), this.digest)) throw new FerryError('unauthorized', 'the shared secret does not match');
      const raw = req.rawHeaders;
      for (let i = raw.length - 2; i >= 0; i -= 2) if (raw[i]!.toLowerCase() === 'authorization') raw.splice(i, 2);
      delete req.headers.authorization;
      return;
    }
    if (!/^Bearer\s/i.test(header)) throw new FerryError('unauthorized', 'ShortedFaaS calls need Authorization: SharedSecret <secret> or a Ferry bearer token');
    await this.auth.authenticate(header);
  }
}
