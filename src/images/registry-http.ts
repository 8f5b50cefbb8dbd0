/**
 * The one way Ferry opens a connection to an image registry, its token realm, or where either
 * redirects: the reference is a user's word, so every hop passes the address policy
 * (`--registry-allow`) and connects to the very address checked (a later DNS answer cannot send it
 * elsewhere). TLS by default, with Node's CAs plus the operator's (`--registry-ca`); plain HTTP
 * only to a `host:port` the operator lists in `--insecure-registry`.
 */
import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import type { IncomingMessage } from 'node:http';
import { FerryError } from '../errors/index.js';
import { pinnedLookup, type AddressPolicy } from '../util/address-policy.js';

/** How the server reaches registries. */
export interface RegistryTransportOptions {
  policy: AddressPolicy;
  /** PEM certificates trusted besides Node's own (`--registry-ca`). */
  extraCa?: string;
  /** `host:port` (or `host`) reached over plain HTTP (`--insecure-registry`). */
  insecure: string[];
  /** Longest wait for a connection or the next bytes of an answer. */
  timeoutMs: number;
}

/** An answer whose body is still to be read (or `resume()`d). */
export interface RegistryResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: IncomingMessage;
  /** The URL that answered, after redirects. */
  url: URL;
}

/** A failure worth another try: no answer, a timeout, a 5xx or 429. */
export class TransientRegistryError extends FerryError {
  constructor(detail: string) {
    super('registry-unavailable', detail);
  }
}

const maxRedirects = 5;

export class RegistryTransport {
  private readonly ca: string[] | undefined;
  private readonly insecure: Set<string>;

  constructor(private readonly o: RegistryTransportOptions) {
    this.ca = o.extraCa ? [...rootCertificates, o.extraCa] : undefined;
    this.insecure = new Set(o.insecure.map((h) => h.toLowerCase()));
  }

  /** The scheme a registry host is spoken to with. */
  baseUrl(registry: string): URL {
    return new URL(`${this.isInsecure(registry) ? 'http' : 'https'}://${registry}`);
  }

  private isInsecure(hostPort: string): boolean {
    return this.insecure.has(hostPort.toLowerCase());
  }

  /**
   * GETs `url`, following redirects (each under the policy; credentials only to the origin that
   * asked for them). Resolves on the first non-redirect answer, whatever its status.
   */
  async get(url: URL, headers: Record<string, string>): Promise<RegistryResponse> {
    const origin = url.origin;
    for (let hop = 0; ; hop++) {
      this.check(url);
      const where = await this.o.policy.resolve(url.hostname).catch((err: unknown) => ({ refused: `${url.hostname} does not resolve (${(err as Error).message})` }));
      if ('refused' in where) throw new FerryError('url-refused', `${url.host}: ${where.refused}`);
      // Authorization goes only to the origin it was meant for, never to where it redirects.
      const res = await this.once(url, where, url.origin === origin ? headers : withoutAuthorization(headers));
      const location = res.headers.location;
      if (res.status >= 300 && res.status < 400 && location) {
        res.body.resume();
        if (hop >= maxRedirects) throw new FerryError('registry-unavailable', `${url.host}: more than ${maxRedirects} redirects`);
        url = new URL(location, url);
        continue;
      }
      return res;
    }
  }

  /** What is known before any connection: the scheme and an address written as such. */
  private check(url: URL): void {
    if (url.protocol === 'http:' && !this.isInsecure(url.host)) {
      throw new FerryError('url-refused', `${url.host}: plain HTTP only to registries listed in --insecure-registry`);
    }
    const why = this.o.policy.precheck(url);
    if (why) throw new FerryError('url-refused', `${url.host}: ${why}`);
  }

  private once(url: URL, to: { address: string; family: number }, headers: Record<string, string>): Promise<RegistryResponse> {
    const ms = this.o.timeoutMs;
    return new Promise((resolve, reject) => {
      const opts: https.RequestOptions = { headers, lookup: pinnedLookup(to), timeout: ms, agent: false };
      if (url.protocol === 'https:' && this.ca) opts.ca = this.ca;
      const req = (url.protocol === 'https:' ? https : http).get(url, opts, (res) => {
        const status = res.statusCode ?? 0;
        // The same idle timeout holds while the body streams.
        res.socket.setTimeout(ms, () => res.destroy(new TransientRegistryError(`${url.host}: no bytes for ${ms / 1000} s`)));
        resolve({ status, headers: res.headers, body: res, url });
      });
      req.once('timeout', () => req.destroy(new TransientRegistryError(`${url.host}: no answer within ${ms / 1000} s`)));
      req.on('error', (err) => {
        if (err instanceof FerryError) reject(err);
        else if (isTlsError(err)) reject(new FerryError('registry-unavailable', `${url.host}: TLS: ${err.message} (a registry with its own CA needs --registry-ca)`));
        else reject(new TransientRegistryError(`${url.host}: ${err.message}`));
      });
    });
  }
}

function withoutAuthorization(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (k.toLowerCase() !== 'authorization') out[k] = v;
  return out;
}

function isTlsError(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code) || /certificate|wrong version number/i.test(err.message);
}

/** Reads a whole (small) body, at most `max` bytes. */
export async function readSmall(res: RegistryResponse, max: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers['content-length'] ?? 0);
  if (declared > max) {
    res.body.destroy();
    throw new FerryError('image-too-large', `${what} is ${declared} bytes; at most ${max}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of res.body as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > max) {
      res.body.destroy();
      throw new FerryError('image-too-large', `${what} is larger than ${max} bytes`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}
