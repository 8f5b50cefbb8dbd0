import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { FerryError, sendProblem, toProblem } from '../errors/index.js';
import { CallSignal, type DeployTarget, type InstancePool } from '../core/index.js';
import { onFunction, type Authenticator } from '../auth/index.js';
import type { Metrics } from '../observe/index.js';
import type { InvokeRoute } from './route-parse.js';
import { requestId as newRequestId } from '../util/ids.js';
import { RequestStats } from './request-stats.js';
import { callInstance, prefersAsync, type Executions, type FinishedCall } from '../service/index.js';
import { acceptAsync } from './async-accept.js';
import { capturePayloads, type CapturedPayloads } from './payload-capture.js';
import { disclose } from './failure-disclosure.js';
import { stripFerryCredentials } from './credentials.js';

export interface InvokerOptions {
  resolve(name: string, ref: string | undefined): DeployTarget;
  /** The owning group of a function (for `invoke: "token"`). */
  ownerOf(name: string): string | undefined;
  pool: InstancePool;
  auth: Authenticator;
  metrics: Metrics;
  /** `token`: every invocation needs a bearer token. */
  invokeAuth: 'public' | 'token';
  maxBodyBytes: number;
  /** Extra response headers on every invocation (e.g. `x-ferry-sandbox`). */
  responseHeaders: string[];
  /** Where `Prefer: respond-async` invocations go; without it they run synchronously. */
  executions?: Executions;
  /** The invocation history: every call is handed over when it ends. */
  history?: { record(call: FinishedCall): void; payloadMaxBytes: number };
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
    const head = scanHeaders(req.rawHeaders);
    const rid = head.requestId !== undefined && validRequestId.test(head.requestId) ? head.requestId : newRequestId();
    const began = performance.now();
    const startedAt = Date.now();
    let target: DeployTarget | undefined;
    let accepted = false;
    let payloads: CapturedPayloads | undefined;
    const signal = new CallSignal();
    const onClose = (): void => {
      if (!res.writableFinished) signal.abort(new FerryError('invoke-timeout', 'the client went away'));
    };
    try {
      target = this.o.resolve(route.name, route.ref);
      const cfg = target.config;
      const needsToken = cfg.invoke === 'token' || this.o.invokeAuth === 'token';
      if (needsToken) await this.mayExecute(head.authorization, route.name, req);
      stripFerryCredentials(req);
      if (head.contentLength !== undefined && Number(head.contentLength) > this.o.maxBodyBytes) {
        throw new FerryError('body-too-large', `the request body is ${head.contentLength} bytes; the limit is ${this.o.maxBodyBytes}`);
      }
      if (head.async && this.o.executions) {
        // Stored first, answered 202 once committed; a worker runs it later.
        await acceptAsync(this.o.executions, req, res, target, route.path, { public: !needsToken, maxBodyBytes: this.o.maxBodyBytes });
        accepted = true; // its runs are recorded by the worker
        return;
      }
      if (head.chunked) this.capChunkedBody(req, signal);
      req.url = route.path;
      if (cfg.recordPayloads && this.o.history) payloads = capturePayloads(req, res, this.o.history.payloadMaxBytes);
      res.once('close', onClose);
      const extra = this.o.responseHeaders;
      await callInstance(this.o.pool, target, req, res, {
        requestId: rid,
        signal,
        hasBody: head.chunked || (head.contentLength !== undefined && head.contentLength !== '0'),
        timeoutMs: cfg.limits.timeoutMs,
        timeoutUntil: 'head',
        extraHeaders: extra.length ? ['x-request-id', rid, ...extra] : ['x-request-id', rid],
      });
    } catch (err) {
      const fe = await this.disclosed(err, req, rid, target, head.authorization, route.name);
      if (!res.headersSent) {
        if (fe.code === 'body-too-large') res.setHeader('connection', 'close');
        sendProblem(res, fe, req.url, this.errorHeaders(rid));
      } else {
        res.destroy();
      }
    } finally {
      res.off('close', onClose);
      if (target) {
        const ms = performance.now() - began;
        this.stats.record(target, res.statusCode, ms);
        if (!accepted) {
          this.o.history?.record({
            time: startedAt, function: target.function, version: target.version, kind: 'sync', status: res.statusCode, durationMs: ms,
            requestId: rid, executionId: null, method: req.method ?? 'GET', path: route.path, requestBody: payloads?.request, responseBody: payloads?.response,
          });
        }
      }
    }
  }

  /** The error as this caller may see it: a failure's own words only for the function's readers. */
  private disclosed(err: unknown, req: IncomingMessage, rid: string, target: DeployTarget | undefined, authorization: string | undefined, name: string): Promise<FerryError> {
    return disclose(FerryError.from(err), { requestId: rid, verbose: target?.config.errors === 'verbose', authorization, owner: this.o.ownerOf(name), auth: this.o.auth, req });
  }

  private errorHeaders(rid: string): Record<string, string> {
    const h: Record<string, string> = { 'x-request-id': rid };
    const extra = this.o.responseHeaders;
    for (let i = 0; i < extra.length; i += 2) h[extra[i]!] = extra[i + 1]!;
    return h;
  }

  /** `execute` on the function and membership in its group; 404 for a caller who may not see it. */
  private async mayExecute(authorization: string | undefined, name: string, req: IncomingMessage): Promise<void> {
    const who = await this.o.auth.authenticate(authorization, req);
    const verdict = onFunction(who, 'execute', this.o.ownerOf(name) ?? '');
    if (verdict === 'hidden') throw new FerryError('function-not-found', `no function named '${name}'`);
    if (verdict === 'forbidden') throw new FerryError('forbidden', `invoking '${name}' needs permission:execute`);
  }

  /** WebSocket and other upgrades, for runtimes that serve HTTP themselves. */
  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, route: InvokeRoute): Promise<void> {
    const given = scanHeaders(req.rawHeaders).requestId;
    const rid = given !== undefined && validRequestId.test(given) ? given : newRequestId();
    const authorization = req.headers.authorization;
    let target: DeployTarget | undefined;
    try {
      target = this.o.resolve(route.name, route.ref);
      if (target.config.invoke === 'token' || this.o.invokeAuth === 'token') await this.mayExecute(req.headers.authorization, route.name, req);
      stripFerryCredentials(req);
      const signal = new CallSignal();
      socket.once('close', () => signal.abort());
      const lease = await this.o.pool.acquire(target, signal);
      const upgrade = lease.connector.upgrade;
      if (!upgrade) {
        lease.release();
        throw new FerryError('method-not-allowed', `runtime '${target.config.runtime}' does not accept upgrades; use an http function`);
      }
      req.url = route.path;
      // The open socket counts as in flight until it closes, so the instance is not idled out.
      upgrade.call(lease.connector, req, socket, head, { requestId: rid, onClose: () => lease.release() });
    } catch (err) {
      writeRawProblem(socket, await this.disclosed(err, req, rid, target, authorization, route.name), { 'x-request-id': rid, ...this.errorHeaders(rid) });
    }
  }

  /** Chunked bodies have no declared size: count as they stream and stop the call past the cap. */
  private capChunkedBody(req: IncomingMessage, signal: CallSignal): void {
    const max = this.o.maxBodyBytes;
    let seen = 0;
    const onData = (chunk: Buffer): void => {
      seen += chunk.length;
      if (seen > max) {
        req.off('data', onData);
        signal.abort(new FerryError('body-too-large', `the request body exceeds the limit of ${max} bytes`));
      }
    };
    req.on('data', onData);
    // Counting must not start the flow: the connector is not listening yet (the instance may
    // still be starting), and flowing data with no listener would be lost. It resumes the body.
    req.pause();
  }
}

/** What the gateway needs from the request head, in one pass over the raw list (Node builds
 * `req.headers` lazily; not touching it saves building an object per call). */
function scanHeaders(raw: string[]): { requestId?: string; contentLength?: string; chunked: boolean; authorization?: string; async: boolean } {
  const out: { requestId?: string; contentLength?: string; chunked: boolean; authorization?: string; async: boolean } = { chunked: false, async: false };
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    switch (name.length) {
      case 6:
        if (name.toLowerCase() === 'prefer' && prefersAsync(raw[i + 1]!)) out.async = true;
        break;
      case 16:
        // tinyFaaS: any value asks for an asynchronous call.
        if (name.toLowerCase() === 'x-tinyfaas-async') out.async = true;
        break;
      case 12:
        if (name.toLowerCase() === 'x-request-id') out.requestId = raw[i + 1];
        break;
      case 13:
        if (name.toLowerCase() === 'authorization') out.authorization = raw[i + 1];
        break;
      case 14:
        if (name.toLowerCase() === 'content-length') out.contentLength = raw[i + 1];
        break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding') out.chunked = true;
        break;
    }
  }
  return out;
}

function writeRawProblem(socket: Duplex, err: FerryError, headers: Record<string, string>): void {
  const body = JSON.stringify(toProblem(err));
  let head = `HTTP/1.1 ${err.status} ${err.code}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n`;
  for (const [k, v] of Object.entries({ ...headers, ...err.headers })) head += `${k}: ${v}\r\n`;
  socket.end(`${head}\r\n${body}`);
}
