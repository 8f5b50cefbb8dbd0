import { Agent, request, type ClientRequest, type ClientRequestArgs, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { FerryError } from '../../errors/index.js';
import { notListening, type CallMeta, type Connector, type Dialer, type InstanceLink, type InvocationRequest, type ResponseWriter } from '../../core/index.js';
import { requestHeaders, responseHeaders, upgradeHead } from './headers.js';
import { abortReason, relayAnswer } from './relay-answer.js';

/**
 * Resolves true once a stream from `dial` opens (and closes it again), false while nothing
 * listens; rejects when the driver refused what it found (`final`: the channel; a port's errors
 * all mean "not yet").
 */
async function accepts(dial: Dialer, final: boolean): Promise<boolean> {
  try {
    (await dial()).destroy();
    return true;
  } catch (err) {
    if (!final || notListening(err)) return false;
    throw new FerryError('instance-start-failed', (err as Error).message, { cause: err });
  }
}

/**
 * The gateway's side of an `http` runtime instance: a reverse proxy to the server the function
 * runs itself, reached through the driver's channel (its Unix socket, `FERRY_SOCKET`, or the
 * relay in front of its port), or its TCP port where the driver reaches it. Connections are kept
 * alive and reused across calls, so the warm path costs no connection setup.
 */
export class HttpConnector implements Connector {
  /** How new connections reach the instance, once `ready` found it listening. */
  private target: Dialer | undefined;
  private readonly agent: Agent;
  private readonly tunnels = new Set<Duplex>();
  private closed = false;

  get lost(): boolean {
    return this.closed;
  }
  private readonly pollMs: number;

  /**
   * @param link the driver's channel to the instance (and its port, where reachable).
   * @param opts.maxSockets connections to the instance at once (default 256; `Runtime.connect`
   *   does not get the version's `scaling.concurrency`, and the pool bounds calls anyway).
   * @param opts.pollMs readiness polling interval.
   */
  constructor(
    private readonly link: InstanceLink,
    opts: { maxSockets?: number; pollMs?: number } = {},
  ) {
    // lifo: the most recently used socket is reused first, so the server's keep-alive timeout
    // closes the idle extras after a burst.
    this.agent = new Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 256, maxFreeSockets: 256, scheduling: 'lifo' });
    // Every new connection is dialled through the channel, which checks again what it finds (the
    // instance may have swapped its socket). A refusal goes to the callback and fails the request.
    this.agent.createConnection = (_o: ClientRequestArgs, created?: (err: Error | null, s: Duplex) => void) => {
      const target = this.target;
      if (!target) {
        created?.(new Error('the instance is not connected'), undefined as unknown as Duplex);
        return undefined;
      }
      target().then(
        (s) => created?.(null, s),
        (err: Error) => created?.(err, undefined as unknown as Duplex),
      );
      return undefined;
    };
    this.pollMs = opts.pollMs ?? 5;
  }

  /**
   * Readiness of a server Ferry cannot change (it sends no HELLO) stays a probe, through the
   * channel: a stream opened there (the relay listens only once PORT accepts), or on its port
   * where the driver reaches it. No request is sent: plenty of servers answer 404 on `/` and that
   * would still mean "ready".
   */
  async ready(signal: AbortSignal): Promise<void> {
    const { dial, dialPort } = this.link;
    for (;;) {
      if (signal.aborted) throw signal.reason instanceof FerryError ? signal.reason : new FerryError('instance-start-failed', 'the instance did not start listening in time');
      // The channel first: if both answer, a stranger may have taken the port; the channel is ours.
      if (await accepts(dial, true)) {
        this.target = dial;
        return;
      }
      if (dialPort && (await accepts(dialPort, false))) {
        this.target = dialPort;
        return;
      }
      await sleep(this.pollMs, undefined, { signal }).catch(() => undefined);
    }
  }

  dispatch(req: InvocationRequest, res: ResponseWriter, meta: CallMeta): Promise<void> {
    const target = this.target;
    if (!target || this.closed) return Promise.reject(new FerryError('instance-crashed', 'the instance is not connected'));
    if (meta.signal.aborted) return Promise.reject(abortReason(meta.signal));
    const body = req.body;
    const headers = requestHeaders(req.headers, meta.requestId, body !== undefined);

    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let upstream: ClientRequest;
      let response: IncomingMessage | undefined;

      const settle = (err?: FerryError): void => {
        if (settled) return;
        settled = true;
        meta.signal.removeEventListener('abort', onAbort);
        if (err) {
          upstream.destroy();
          response?.destroy();
          // Once the head went out the client cannot get an error answer: cut the stream.
          if (res.headersSent && !res.destroyed) res.destroy(err);
          reject(err);
        } else {
          resolve();
        }
      };
      const onAbort = (): void => settle(abortReason(meta.signal));
      meta.signal.addEventListener('abort', onAbort, { once: true });

      const onResponse = (ures: IncomingMessage): void => {
        response = ures;
        if (settled) return void ures.destroy();
        relayAnswer(ures, res, meta, responseHeaders(ures.rawHeaders, meta.extraHeaders), {
          settled: () => settled,
          settle,
          cut: () => new FerryError('instance-crashed', 'the instance closed the connection mid-response'),
        });
      };

      const send = (retry: boolean): void => {
        upstream = request({
          agent: this.agent,
          method: req.method,
          path: req.path,
          headers: headers as unknown as Record<string, string>, // Node takes the flat rawHeaders form too
        });
        upstream.on('response', onResponse);
        upstream.on('error', (err: NodeJS.ErrnoException) => {
          if (settled || response) return;
          // A kept-alive socket the server closed just as we reused it: safe to resend once when
          // no body was sent (the body stream cannot be replayed).
          if (retry && !body && upstream.reusedSocket && err.code === 'ECONNRESET') return send(false);
          settle(new FerryError('instance-crashed', `cannot reach the instance: ${err.message}`, { cause: err }));
        });
        if (body) body.pipe(upstream);
        else upstream.end();
      };
      send(true);
    });
  }

  /**
   * WebSocket or any other Upgrade: a raw tunnel. The request head is replayed on a fresh connection
   * to the instance (Upgrade and Connection kept), then bytes flow both ways untouched until
   * either side closes; `meta.onClose` is called once.
   */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, meta: { requestId: string; path: string; onClose(): void }): void {
    const target = this.target;
    const state = { done: false };
    const refuse = (): void => {
      if (state.done) return;
      state.done = true;
      socket.end('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      meta.onClose();
    };
    if (!target || this.closed) return refuse();
    // Refused by the channel (e.g. a swapped socket) or gone: a 502, as a failed request would be.
    target().then((upstream) => {
      if (this.closed || socket.destroyed) {
        upstream.destroy();
        return refuse();
      }
      this.tunnel(req, socket, head, meta, upstream, state, refuse);
    }, refuse);
  }

  /** The upgrade's tunnel once its stream to the instance is open: bytes both ways until either side closes. */
  private tunnel(req: IncomingMessage, socket: Duplex, head: Buffer, meta: { path: string; requestId: string; onClose(): void }, upstream: Duplex, state: { done: boolean }, refuse: () => void): void {
    let answered = false;
    const finish = (): void => {
      if (state.done) return;
      state.done = true;
      this.tunnels.delete(socket);
      this.tunnels.delete(upstream);
      upstream.destroy();
      socket.destroy();
      meta.onClose();
    };
    this.tunnels.add(socket);
    this.tunnels.add(upstream);
    (upstream as { setNoDelay?(on: boolean): void }).setNoDelay?.(true);
    // Header bytes are latin1 as Node parsed them; re-encoding as UTF-8 would change them.
    upstream.write(upgradeHead(req.method ?? 'GET', meta.path, req.rawHeaders, meta.requestId), 'latin1');
    if (head.length) upstream.write(head);
    upstream.once('data', () => (answered = true));
    upstream.on('error', () => {
      if (!answered && !state.done) {
        this.tunnels.delete(socket);
        this.tunnels.delete(upstream);
        return refuse();
      }
      finish();
    });
    socket.on('error', finish);
    upstream.on('close', finish);
    socket.on('close', finish);
    socket.pipe(upstream);
    upstream.pipe(socket);
  }

  close(): void {
    this.closed = true;
    this.agent.destroy();
    for (const s of this.tunnels) s.destroy();
    this.tunnels.clear();
  }
}
