/**
 * A worker's cluster listener: where gateways send calls (the function's request as it is, with
 * the control headers of `call-headers.ts`) and control messages (`control.ts`). Nothing is
 * served without a gateway's token for this very worker. A call runs as on a single node
 * (`callInstance`: the version's time limit, recycling a stuck instance, oom reported); the
 * gateway did everything else (authentication, rate limits, history, metrics).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { FerryError } from '../../errors/index.js';
import { CallSignal, type DeployTarget, type InstancePool, type InvocationRequest } from '../../core/index.js';
import { callInstance } from '../../service/instance-call.js';
import { clusterHeaders, withoutClusterHeaders } from './call-headers.js';
import type { ClusterAuth } from './cluster-auth.js';
import { CONTROL_HEADER, parseControl } from './control.js';

export interface WorkerEndpointOptions {
  /** This worker's node id (tokens name it). */
  nodeId: string;
  auth: ClusterAuth;
  pool: InstancePool;
  /**
   * The version in this node's catalog, caught up with the change feed if it is behind the
   * gateway's `revision`; undefined when there is no such version.
   */
  resolve(fn: string, version: string, revision: string | undefined): Promise<DeployTarget | undefined>;
  warn(message: string, err: unknown): void;
}

const controlMaxBytes = 64 * 1024;

export class WorkerEndpoint {
  constructor(private readonly o: WorkerEndpointOptions) {}

  /** The listener's `request` handler. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await this.authenticate(req);
      const op = req.headers[CONTROL_HEADER];
      if (typeof op === 'string') return await this.control(op, req, res);
      await this.call(req, res);
    } catch (err) {
      fail(res, FerryError.from(err));
    }
  }

  /** The listener's `upgrade` handler: a WebSocket (or other upgrade) to an instance. */
  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    try {
      await this.authenticate(req);
      const target = await this.target(req);
      const signal = new CallSignal();
      socket.once('close', () => signal.abort());
      const lease = await this.o.pool.acquire(target, signal);
      const upgrade = lease.connector.upgrade;
      if (!upgrade) {
        lease.release();
        throw new FerryError('method-not-allowed', `runtime '${target.config.runtime}' does not accept upgrades; use an http function`);
      }
      req.rawHeaders.splice(0, req.rawHeaders.length, ...withoutClusterHeaders(req.rawHeaders));
      upgrade.call(lease.connector, req, socket, head, { requestId: header(req, clusterHeaders.requestId) ?? 'cluster', path: req.url ?? '/', onClose: () => lease.release() });
    } catch (err) {
      const fe = FerryError.from(err);
      socket.end(`HTTP/1.1 ${fe.status} Refused\r\n${clusterHeaders.error}: ${fe.code}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    }
  }

  private async authenticate(req: IncomingMessage): Promise<void> {
    if (!(await this.o.auth.verify(header(req, clusterHeaders.auth), this.o.nodeId))) {
      throw new FerryError('unauthorized', 'not a call from a gateway of this cluster');
    }
  }

  private async target(req: IncomingMessage): Promise<DeployTarget> {
    const fn = header(req, clusterHeaders.function);
    const version = header(req, clusterHeaders.version);
    if (!fn || !version) throw new FerryError('invalid-header', 'a cluster call names its function and version');
    const target = await this.o.resolve(fn, version, header(req, clusterHeaders.revision));
    if (!target) throw new FerryError('version-not-found', `function '${fn}' has no version '${version}' on this worker`);
    return target;
  }

  private async call(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = await this.target(req);
    const background = header(req, clusterHeaders.background) === '1';
    const requestId = header(req, clusterHeaders.requestId) ?? 'cluster';
    const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
    const length = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
    const call: InvocationRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: withoutClusterHeaders(req.rawHeaders),
      body: hasBody ? req : undefined,
      bodyLength: length,
    };
    const signal = new CallSignal();
    // The gateway gave up (its client left, its time limit): the call is cancelled here too.
    res.once('close', () => {
      if (!res.writableFinished) signal.abort(new FerryError('invoke-timeout', 'the gateway went away'));
    });
    const cfg = target.config;
    await callInstance(this.o.pool, target, call, res, {
      requestId,
      signal,
      timeoutMs: background ? cfg.asyncTimeoutMs : cfg.limits.timeoutMs,
      timeoutUntil: background ? 'end' : 'head',
      extraHeaders: [],
      background,
    });
  }

  private async control(op: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > controlMaxBytes) throw new FerryError('body-too-large', 'control message too large');
      chunks.push(c);
    }
    const msg = parseControl(op, JSON.parse(Buffer.concat(chunks).toString('utf8')));
    if (msg.op === 'stop') {
      await this.o.pool.stop(msg.function, msg.version);
    } else {
      const target = await this.o.resolve(msg.function, msg.version, msg.revision);
      if (!target) throw new FerryError('version-not-found', `function '${msg.function}' has no version '${msg.version}' on this worker`);
      if (msg.op === 'deploy') await this.o.pool.deploy(target, msg.atLeastOne);
      else await this.o.pool.roll(target);
    }
    res.writeHead(204).end();
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}

/** The worker's failure answer: its code in a header, its words in the body (the gateway renders them). */
function fail(res: ServerResponse, fe: FerryError): void {
  if (res.headersSent) {
    if (!res.destroyed) res.destroy(fe);
    return;
  }
  const body = JSON.stringify({ detail: fe.message, ...(fe.extras ? { extras: fe.extras } : {}), ...(fe.headers ? { headers: fe.headers } : {}) });
  res.writeHead(fe.status, { [clusterHeaders.error]: fe.code, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
