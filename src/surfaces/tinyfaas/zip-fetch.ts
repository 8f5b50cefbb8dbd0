import http from 'node:http';
import https from 'node:https';
import { FerryError } from '../../errors/index.js';
import { pinnedLookup, type AddressPolicy } from '../../service/index.js';

const maxRedirects = 5;
const timeoutMs = 30_000;

/**
 * GETs an archive for `/uploadURL` as the server. The URL is the caller's choice, so it passes
 * the same address policy as callbacks (`--callback-allow`): no loopback, private or local
 * address of this host unless the operator lists it, checked at every redirect and pinned, so a
 * later DNS answer cannot send the connection elsewhere. At most `maxBytes`.
 */
export async function fetchArchive(raw: string, policy: AddressPolicy, maxBytes: number): Promise<Buffer> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new FerryError('invalid-body', `url ${JSON.stringify(raw.slice(0, 200))} is not a URL`);
  }
  for (let hop = 0; ; hop++) {
    const why = policy.precheck(url);
    if (why) throw new FerryError('url-refused', `${url.origin}: ${why}`);
    const where = await policy.resolve(url.hostname).catch((err: unknown) => ({ refused: `${url.hostname} does not resolve (${(err as Error).message})` }));
    if ('refused' in where) throw new FerryError('url-refused', `${url.origin}: ${where.refused}`);
    const got = await get(url, where, maxBytes);
    if ('body' in got) return got.body;
    if (hop >= maxRedirects) throw new FerryError('url-fetch-failed', `more than ${maxRedirects} redirects`);
    url = new URL(got.location, url);
  }
}

function get(url: URL, to: { address: string; family: number }, maxBytes: number): Promise<{ body: Buffer } | { location: string }> {
  return new Promise((resolve, reject) => {
    const fail = (why: string): void => reject(new FerryError('url-fetch-failed', `${url.origin}${url.pathname}: ${why}`));
    const req = (url.protocol === 'https:' ? https : http).get(url, { lookup: pinnedLookup(to), timeout: timeoutMs }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        resolve({ location: res.headers.location });
        return;
      }
      if (status !== 200) {
        res.resume();
        fail(`the server answered ${status}`);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBytes) {
          req.destroy();
          fail(`the archive is larger than ${maxBytes} bytes`);
        } else chunks.push(c);
      });
      res.once('end', () => resolve({ body: Buffer.concat(chunks) }));
      res.once('error', (err) => fail(err.message));
    });
    req.once('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.once('error', (err) => fail(err.message));
  });
}
