import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { FerryError } from '../../errors/index.js';
import { CallSignal } from '../../core/index.js';
import { requestIdFor, type Pipeline } from '../../pipeline/index.js';
import { toInvocation, type CredentialExtractor, type InvokeRoute } from './to-invocation.js';
import { renderProblem, writeRawProblem } from './problem.js';
import { PAGE_SANDBOX_HEADERS } from './page-sandbox.js';

/** What a surface may do its own way. */
export interface SurfaceWays {
  /** Where the caller's credential is (default: the `Authorization` header). */
  credential?: CredentialExtractor;
  /** How a failure is answered (default: problem+json); `headers` carry the request id. */
  renderError?(res: ServerResponse, err: FerryError, headers: Record<string, string>): void;
  /**
   * The surface gives each function an origin of its own (host names): its answers are not
   * sandboxed. Every other surface shares Ferry's origin with the dashboard (page-sandbox.ts).
   */
  ownOrigin?: boolean;
}

/**
 * The HTTP front end: a Node request becomes an invocation, the `ServerResponse` is the
 * pipeline's response writer, and a failure becomes a problem+json answer. Surfaces that invoke
 * functions (`/fn`, host names, the seed systems' APIs) serve their requests through it.
 */
export class HttpInvocations {
  /** `x-ferry-sandbox` and the like, as a header record for error answers. */
  private readonly extra: Record<string, string> = {};

  constructor(private readonly pipeline: Pipeline) {
    const h = pipeline.responseHeaders;
    for (let i = 0; i < h.length; i += 2) this.extra[h[i]!] = h[i + 1]!;
  }

  /**
   * Serves one request as an invocation of `route`; never rejects. A surface may bring its own
   * credential extractor and its own rendering of Ferry's errors (default: problem+json).
   */
  async serve(req: IncomingMessage, res: ServerResponse, route: InvokeRoute, own: SurfaceWays = {}): Promise<void> {
    const url = req.url;
    const inv = toInvocation(req, route, own.credential);
    if (!own.ownOrigin) inv.answerHeaders = PAGE_SANDBOX_HEADERS as string[];
    const out = await this.pipeline.invoke(inv, res);
    if (!out.error || res.headersSent) return;
    if (own.renderError) own.renderError(res, out.error, this.errorHeaders(out.requestId));
    else renderProblem(res, out.error, url, this.errorHeaders(out.requestId));
  }

  /** WebSocket and other upgrades, for runtimes that serve HTTP themselves. */
  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, route: InvokeRoute, own: SurfaceWays = {}): Promise<void> {
    const inv = toInvocation(req, route, own.credential);
    const rid = requestIdFor(inv.requestId);
    inv.requestId = rid;
    inv.body = undefined;
    try {
      const signal = new CallSignal();
      socket.once('close', () => signal.abort());
      const { lease, target } = await this.pipeline.lease(inv, signal);
      // The connector forwards the request's own raw headers: they must be what the pipeline
      // left of them (a surface's own credential header, Ferry's credentials gone).
      if (inv.headers !== req.rawHeaders) req.rawHeaders.splice(0, req.rawHeaders.length, ...inv.headers);
      const upgrade = lease.connector.upgrade;
      if (!upgrade) {
        lease.release();
        throw new FerryError('method-not-allowed', `runtime '${target.config.runtime}' does not accept upgrades; use an http function`);
      }
      // The open socket counts as in flight until it closes, so the instance is not idled out.
      upgrade.call(lease.connector, req, socket, head, { requestId: rid, path: route.path, onClose: () => lease.release() });
    } catch (err) {
      writeRawProblem(socket, FerryError.from(err), this.errorHeaders(rid));
    }
  }

  private errorHeaders(rid: string): Record<string, string> {
    return { 'x-request-id': rid, ...this.extra };
  }
}
