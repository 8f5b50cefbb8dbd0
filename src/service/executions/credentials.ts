/**
 * Credential headers of asynchronous requests. A run needs the caller's real `Authorization`,
 * `Cookie` or `X-Api-Key`, possibly after a restart, so they cannot just be dropped; but no record
 * may show them and none may keep them once the execution ended. So at acceptance their values
 * leave the stored headers (which say `[redacted]` in their place) and are sealed with AES-256-GCM
 * under a server key, bound to the execution; a run opens them to replay the request, and the
 * store drops the sealed values when the execution ends. A version with `recordCredentials` keeps
 * its callers' headers as they came.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { FerryError } from '../../errors/index.js';
import { CredentialHeaders, redactedValue, type KeyStore, type StoredRequest } from '../../core/index.js';

const keyName = 'request-credentials-aes256';

export class RequestCredentials {
  constructor(
    private readonly keys: KeyStore,
    readonly headers: CredentialHeaders,
  ) {}

  private key(): Promise<Buffer> {
    return this.keys.get(keyName, () => randomBytes(32));
  }

  /** The request as execution `id` of `fn` stores it: credential values sealed, `[redacted]` in the headers. */
  async seal(id: string, fn: string, request: StoredRequest): Promise<StoredRequest> {
    const taken: Array<[number, string]> = [];
    const flat = request.headers;
    for (let i = 0; i < flat.length - 1; i += 2) if (this.headers.matches(flat[i]!)) taken.push([i + 1, flat[i + 1]!]);
    if (taken.length === 0) return request;
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', await this.key(), iv);
    c.setAAD(Buffer.from(`${id}\0${fn}`));
    const data = Buffer.concat([c.update(JSON.stringify(taken), 'utf8'), c.final()]);
    return { ...request, headers: this.headers.redact(flat), sealedCredentials: Buffer.concat([iv, c.getAuthTag(), data]) };
  }

  /**
   * The request as the function gets it: the sealed values back in their places. With nothing
   * sealed (the values were dropped when the execution ended, and it was re-driven since), the
   * redacted headers are left out rather than sent as `[redacted]`.
   */
  async open(id: string, fn: string, request: StoredRequest): Promise<StoredRequest> {
    const sealed = request.sealedCredentials;
    if (!sealed) return withoutRedacted(request, this.headers);
    const d = createDecipheriv('aes-256-gcm', await this.key(), sealed.subarray(0, 12));
    d.setAAD(Buffer.from(`${id}\0${fn}`));
    d.setAuthTag(sealed.subarray(12, 28));
    let taken: Array<[number, string]>;
    try {
      taken = JSON.parse(Buffer.concat([d.update(sealed.subarray(28)), d.final()]).toString('utf8')) as Array<[number, string]>;
    } catch {
      // Never a value or the key in the message.
      throw new FerryError('internal', `the credential headers of execution ${id} cannot be opened: the key in the data dir does not match`);
    }
    const headers = request.headers.slice();
    for (const [at, value] of taken) if (at > 0 && at < headers.length && at % 2 === 1) headers[at] = value;
    return { ...request, headers, sealedCredentials: null };
  }
}

function withoutRedacted(request: StoredRequest, names: CredentialHeaders): StoredRequest {
  const flat = request.headers;
  const headers: string[] = [];
  for (let i = 0; i < flat.length - 1; i += 2) if (!(flat[i + 1] === redactedValue && names.matches(flat[i]!))) headers.push(flat[i]!, flat[i + 1]!);
  return headers.length === flat.length ? request : { ...request, headers };
}
