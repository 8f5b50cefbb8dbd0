import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { FerryError, sendProblem } from '../errors/index.js';
import type { HttpSurface } from './surface.js';
import { httpRequestId } from '../pipeline/request-id.js';
import type { Gate } from './rate-gate.js';

/** What one listener does with a request and an upgrade. */
export interface Dispatch {
  request(req: IncomingMessage, res: ServerResponse): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

/**
 * One listener's dispatch: the first surface (in order) that claims a request answers it; a
 * request none claims is 404 `route-not-found`. `failed` hears of what a surface let escape.
 * A `gate` (the server-wide rate limits) sees every request first and may answer it itself.
 */
export function dispatcher(surfaces: readonly HttpSurface[], failed: (err: unknown) => void, gate?: Gate): Dispatch {
  const list = [...surfaces];
  return {
    request(req, res) {
      const fail = (err: unknown): void => {
        failed(err);
        sendProblem(res, FerryError.from(err));
      };
      try {
        if (gate && !gate(req, res)) return;
        for (const s of list) {
          const m = s.match(req);
          if (m === undefined) continue;
          s.handle(req, res, m).catch(fail);
          return;
        }
      } catch (err) {
        // A request listener must not throw: that would take the server down.
        return fail(err);
      }
      notFound(req, res);
    },
    upgrade(req, socket, head) {
      socket.on('error', () => {});
      try {
        for (const s of list) {
          const m = s.match(req);
          if (m === undefined) continue;
          if (s.upgrade) return s.upgrade(req, socket, head, m);
          break;
        }
      } catch (err) {
        failed(err);
      }
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    },
  };
}

/** As the API answers an unknown path: problem+json, the path as `instance`. */
function notFound(req: IncomingMessage, res: ServerResponse): void {
  let pathname = '/';
  try {
    pathname = new URL(req.url ?? '/', 'http://x').pathname;
  } catch {
    // not a path: reported as /
  }
  const path = pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
  // Drain what the client is still sending so it reads our answer instead of a reset.
  if (!req.readableEnded) req.resume();
  sendProblem(res, new FerryError('route-not-found', `no route for ${req.method} ${path}`), pathname, { 'x-request-id': httpRequestId(req.headers['x-request-id']) });
}
