/**
 * The gateway's side of a call that runs on a worker: the function's request goes to the
 * worker's cluster listener as it is (method, path, headers, streamed body) with the control
 * headers beside it, and the worker's answer streams back into the call's response writer. A
 * worker that refuses the connection is passed over and the next one tried: nothing of the
 * request was sent yet (the body is piped only once connected). A worker lost mid-call is a 502.
 */
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { FerryError } from '../../errors/index.js';
import { codes, type ErrorCode } from '../../errors/codes.js';
import type { CallMeta, Connector, DeployTarget, InvocationRequest, ResponseWriter } from '../../core/index.js';
import { requestHeaders, responseHeaders, upgradeHead } from '../../runtime/http/headers.js';
import { abortReason, relayAnswer } from '../../runtime/http/relay-answer.js';
import { clusterHeaders, withoutClusterHeaders } from './call-headers.js';
import type { ClusterAuth } from './cluster-auth.js';
import type { KnownWorker, WorkerChoice } from './worker-choice.js';

/** A connection that never reached the worker: safe to try another. */
class Unreached extends Error {}

export interface RemoteCallOptions {
  choice: WorkerChoice;
  auth: ClusterAuth;
  target: DeployTarget;
  background: boolean;
}

/** One lease's connector: the worker chosen at acquire, and others if that one is gone. */
export class RemoteConnector implements Connector {
  readonly lost = false;
  private readonly tried = new Set<string>();

  constructor(private worker: KnownWorker, private readonly o: RemoteCallOptions) {
    this.tried.add(worker.rec.id);
  }

  /** The worker the call runs on now (it may move before anything was sent). */
  get current(): KnownWorker {
    return this.worker;
  }

  async ready(): Promise<void> {}

  async dispatch(req: InvocationRequest, res: ResponseWriter, meta: CallMeta): Promise<void> {
    for (;;) {
      try {
        return await this.send(req, res, meta);
      } catch (err) {
        if (!(err instanceof Unreached)) throw err;
        this.o.choice.down(this.worker);
        const next = this.o.choice.choose(`${this.o.target.function}@${this.o.target.version}`, this.tried);
        if (!next) throw new FerryError('worker-lost', `no worker could be reached (last: ${this.worker.rec.id}: ${err.message})`);
        this.o.choice.done(this.worker);
        this.worker = next;
        this.tried.add(next.rec.id);
      }
    }
  }

  private async controlHeaders(requestId: string): Promise<string[]> {
    const t = this.o.target;
    const out = [
      clusterHeaders.auth, await this.o.auth.tokenFor(this.worker.rec.id),
      clusterHeaders.function, t.function,
      clusterHeaders.version, t.version,
      clusterHeaders.revision, t.revision,
      clusterHeaders.requestId, requestId,
    ];
    if (this.o.background) out.push(clusterHeaders.background, '1');
    return out;
  }

  private async send(req: InvocationRequest, res: ResponseWriter, meta: CallMeta): Promise<void> {
    if (meta.signal.aborted) throw abortReason(meta.signal);
    const body = req.body;
    const headers = [...requestHeaders(withoutClusterHeaders(req.headers), meta.requestId, body !== undefined), ...(await this.controlHeaders(meta.requestId))];
    const w = this.worker;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let connected = false;
      let response: IncomingMessage | undefined;
      const settle = (err?: Error): void => {
        if (settled) return;
        settled = true;
        meta.signal.removeEventListener('abort', onAbort);
        if (err) {
          upstream.destroy();
          response?.destroy();
          if (res.headersSent && !res.destroyed) res.destroy(err);
          reject(err);
        } else resolve();
      };
      const onAbort = (): void => settle(abortReason(meta.signal));
      meta.signal.addEventListener('abort', onAbort, { once: true });

      const upstream: ClientRequest = request({
        protocol: w.address.protocol,
        host: w.address.hostname,
        port: w.address.port,
        agent: w.agent,
        method: req.method,
        path: req.path,
        headers: headers as unknown as Record<string, string>,
      });
      const sendBody = (): void => {
        connected = true;
        if (body) body.pipe(upstream);
        else upstream.end();
      };
      upstream.once('socket', (s: Socket) => {
        if (s.connecting) s.once('connect', sendBody);
        else sendBody();
      });
      upstream.on('error', (err: NodeJS.ErrnoException) => {
        if (settled || response) return;
        if (!connected) return settle(new Unreached(err.message));
        // Lost mid-call: the next calls pass it over (a kept-alive connection to it would fail them too).
        this.o.choice.down(w);
        settle(new FerryError('worker-lost', `the worker ${w.rec.id} stopped answering: ${err.message}`, { cause: err }));
      });
      upstream.on('response', (ures: IncomingMessage) => {
        response = ures;
        if (settled) return void ures.destroy();
        const failed = ures.headers[clusterHeaders.error];
        if (typeof failed === 'string') return void readFailure(ures, failed).then(settle, settle);
        relayAnswer(ures, res, meta, responseHeaders(withoutClusterHeaders(ures.rawHeaders), meta.extraHeaders), {
          settled: () => settled,
          settle,
          cut: () => {
            this.o.choice.down(w);
            return new FerryError('worker-lost', `the worker ${w.rec.id} closed the connection mid-response`);
          },
        });
      });
    });
  }

  /**
   * WebSocket and other upgrades: the request head replayed on a new connection to the worker
   * with the control headers, then bytes both ways until either side closes.
   */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, meta: { requestId: string; path: string; onClose(): void }): void {
    const w = this.worker;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      upstream.destroy();
      socket.destroy();
      meta.onClose();
    };
    const upstream = connect(Number(w.address.port), w.address.hostname);
    upstream.setNoDelay(true);
    let answered = false;
    void this.controlHeaders(meta.requestId).then((control) => {
      if (done) return;
      upstream.write(upgradeHead(req.method ?? 'GET', meta.path, [...withoutClusterHeaders(req.rawHeaders), ...control], meta.requestId), 'latin1');
      if (head.length) upstream.write(head);
      socket.pipe(upstream);
      upstream.pipe(socket);
    }, finish);
    upstream.once('data', () => (answered = true));
    upstream.on('error', () => {
      if (!answered && !done) {
        this.o.choice.down(w);
        done = true;
        socket.end('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
        meta.onClose();
        return;
      }
      finish();
    });
    socket.on('error', finish);
    upstream.on('close', finish);
    socket.on('close', finish);
  }

  close(): void {}
}

/** The worker's FerryError, from its failure answer. */
async function readFailure(ures: IncomingMessage, code: string): Promise<FerryError> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of ures as AsyncIterable<Buffer>) {
    size += c.length;
    if (size <= 64 * 1024) chunks.push(c);
  }
  let parsed: { detail?: string; extras?: Record<string, unknown>; headers?: Record<string, string> } = {};
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    // a worker of another release; the code alone says enough
  }
  const known = Object.hasOwn(codes, code) ? (code as ErrorCode) : 'internal';
  return new FerryError(known, parsed.detail, {
    ...(parsed.extras ? { extras: parsed.extras } : {}),
    ...(parsed.headers ? { headers: parsed.headers } : {}),
  });
}
