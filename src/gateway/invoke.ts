import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { FerryError, sendProblem } from '../errors/index.js';
import type { DeployTarget, InstancePool, Lease } from '../core/index.js';
import type { Authenticator } from '../auth/index.js';
import type { Metrics } from '../observe/index.js';
import type { InvokeRoute } from './route-parse.js';
import { requestId as newRequestId } from '../util/ids.js';
import { RequestStats } from './request-stats.js';

export interface InvokerOptions {
  resolve(name: string, ref: string | undefined): DeployTarget;
  pool: InstancePool;
  auth: Authenticator;
  metrics: Metrics;
  /** `token`: every invocation needs a bearer token. */
  invokeAuth: 'public' | 'token';
  maxBodyBytes: number;
  /** Extra response headers on every invocation (e.g. `x-ferry-sandbox`). */
  responseHeaders: string[];
}

const validRequestId = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The invocation path: resolve the function, check the credential if it asks for one, lease an
 * instance, hand the call to its connector, and turn every failure into a problem answer with
 * the request id. Nothing here is per-request work that could be done once.
 */
export class Invoker {
  private readonly stats: RequestStats;

  constructor(private readonly o: InvokerOptions) {
    this.stats = new RequestStats(o.metrics);
  }

  async invoke(req: IncomingMessage, res: ServerResponse, route: InvokeRoute): Promise<void> {
    const incoming = req.headers['x-request-id'];
    const rid = typeof incoming === 'string' && validRequestId.test(incoming) ? incoming : newRequestId();
    const began = performance.now();
    let target: DeployTarget | undefined;
    let lease: Lease | undefined;
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const ac = new AbortController();
    const onClose = (): void => {
      if (!res.writableFinished) ac.abort(new FerryError('invoke-timeout', 'the client went away'));
    };
    try {
      target = this.o.resolve(route.name, route.ref);
      const cfg = target.config;
      if (cfg.invoke === 'token' || this.o.invokeAuth === 'token') {
        await this.o.auth.authenticate(req.headers.authorization);
        stripAuthorization(req);
      }
      this.checkBodySize(req, ac);
      req.url = route.path;
      timer = setTimeout(() => {
        timedOut = true;
        ac.abort(new FerryError('invoke-timeout', `no response headers within ${cfg.limits.timeoutMs} ms`));
      }, cfg.limits.timeoutMs);
      res.once('close', onClose);
      lease = await this.o.pool.acquire(target, ac.signal);
      const extraHeaders = this.o.responseHeaders.length ? ['x-request-id', rid, ...this.o.responseHeaders] : ['x-request-id', rid];
      await lease.connector.dispatch(req, res, {
        requestId: rid,
        signal: ac.signal,
        onHeaders: () => clearTimeout(timer),
        extraHeaders,
      });
    } catch (err) {
      const fe = FerryError.from(err);
      if (!res.headersSent) {
        if (fe.code === 'body-too-large') res.setHeader('connection', 'close');
        sendProblem(res, fe, req.url, this.o.responseHeaders.length ? { 'x-request-id': rid } : { 'x-request-id': rid });
      } else {
        res.destroy();
      }
    } finally {
      clearTimeout(timer);
      res.off('close', onClose);
      lease?.release({ recycle: timedOut });
      if (target) this.stats.record(target, res.statusCode, performance.now() - began);
    }
  }

  /** WebSocket and other upgrades, for runtimes that serve HTTP themselves. */
  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, route: InvokeRoute): Promise<void> {
    const rid = newRequestId();
    try {
      const target = this.o.resolve(route.name, route.ref);
      if (target.config.invoke === 'token' || this.o.invokeAuth === 'token') {
        await this.o.auth.authenticate(req.headers.authorization);
        stripAuthorization(req);
      }
      const ac = new AbortController();
      socket.once('close', () => ac.abort());
      const lease = await this.o.pool.acquire(target, ac.signal);
      const upgrade = lease.connector.upgrade;
      if (!upgrade) {
        lease.release();
        throw new FerryError('method-not-allowed', `runtime '${target.config.runtime}' does not accept upgrades; use an http function`);
      }
      req.url = route.path;
      // The open socket counts as in flight until it closes, so the instance is not idled out.
      upgrade.call(lease.connector, req, socket, head, { requestId: rid, onClose: () => lease.release() });
    } catch (err) {
      writeRawProblem(socket, FerryError.from(err), rid);
    }
  }

  private checkBodySize(req: IncomingMessage, ac: AbortController): void {
    const max = this.o.maxBodyBytes;
    const len = req.headers['content-length'];
    if (len !== undefined) {
      if (Number(len) > max) throw new FerryError('body-too-large', `the request body is ${len} bytes; the limit is ${max}`);
      return;
    }
    if (req.headers['transfer-encoding'] === undefined) return;
    // Chunked bodies: count as they stream and stop the call when the cap is passed.
    let seen = 0;
    const onData = (chunk: Buffer): void => {
      seen += chunk.length;
      if (seen > max) {
        req.off('data', onData);
        ac.abort(new FerryError('body-too-large', `the request body exceeds the limit of ${max} bytes`));
      }
    };
    req.on('data', onData);
  }
}

/** The credential is Ferry's, not the function's: it never reaches the instance. */
function stripAuthorization(req: IncomingMessage): void {
  delete req.headers.authorization;
  const raw = req.rawHeaders;
  for (let i = raw.length - 2; i >= 0; i -= 2) {
    if (raw[i]!.toLowerCase() === 'authorization') raw.splice(i, 2);
  }
}

function writeRawProblem(socket: Duplex, err: FerryError, rid: string): void {
  const body = JSON.stringify({ type: `https://ferry.dev/errors#${err.code}`, title: err.message, status: err.status, code: err.code, detail: err.message });
  socket.end(
    `HTTP/1.1 ${err.status} ${err.code}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${rid}\r\nconnection: close\r\n\r\n${body}`,
  );
}
