import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FerryError, sendProblem } from '../../errors/index.js';

/** Where `npm run build` puts the page (`web/` compiled and copied): `dist/web`. */
const root = fileURLToPath(new URL('../../../web/', import.meta.url));

/**
 * No inline script or style, nothing from another origin: a script injected into the page
 * (a function name, a log line) has nowhere to run from, and the page cannot be framed.
 */
export const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

interface File {
  body: Buffer;
  type: string;
  etag: string;
}

/** Every servable file, read once: the page is a few dozen KB, and a fixed list leaves no path to traverse. */
function load(dir: string, into = new Map<string, File>()): Map<string, File> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      load(p, into);
      continue;
    }
    const type = types[extname(name)];
    if (!type) continue;
    const body = readFileSync(p);
    into.set(`/${relative(root, p)}`, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  return into;
}

let files: Map<string, File> | undefined;

const securityHeaders = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

function redirect(res: ServerResponse, status: number, location: string): void {
  res.writeHead(status, { location, 'content-length': 0, ...securityHeaders });
  res.end();
}

/** Answers a request of the dashboard's paths (see `uiSurface`). */
export function serveUi(req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0]!;
  try {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new FerryError('method-not-allowed', `${req.method} is not allowed on ${path}; allowed: GET, HEAD`, { headers: { allow: 'GET, HEAD' } });
    if (path === '/' || path === '/dashboard' || path === '/ui') return redirect(res, 302, '/ui/');
    files ??= load(root);
    const file = files.get(path === '/ui/' ? '/index.html' : path.slice('/ui'.length));
    if (!file) throw new FerryError('route-not-found', `the dashboard has no file ${path}`);
    // Revalidated on every load (no-cache) and answered 304 by ETag: an upgrade shows at once.
    const head = { 'content-type': file.type, etag: file.etag, 'cache-control': 'no-cache', ...securityHeaders };
    if (req.headers['if-none-match'] === file.etag) {
      res.writeHead(304, head);
      res.end();
      return;
    }
    res.writeHead(200, { ...head, 'content-length': file.body.length });
    res.end(req.method === 'HEAD' ? undefined : file.body);
  } catch (err) {
    sendProblem(res, FerryError.from(err), path);
  }
}
