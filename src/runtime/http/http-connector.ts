import { Agent, request, type ClientRequest, type ClientRequestArgs, type IncomingMessage } from 'node:http';
import { connect, type NetConnectOpts, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { FerryError } from '../../errors/index.js';
import type { CallMeta, CallSignal, Connector, Endpoint, InvocationRequest, ResponseWriter } from '../../core/index.js';
import { requestHeaders, responseHeaders, upgradeHead } from './headers.js';
import { connectInstanceSocket, UNTRUSTED_SOCKET } from '../instance-socket.js';

/** The endpoint of an `http` runtime instance: its TCP port and its Unix socket path, either may be used. */
export type HttpEndpoint = Extract<Endpoint, { kind: 'http' }>;

/** Where the instance was found listening: its Unix socket or its TCP port. */
type Target = { socketPath: string } | { host: string; port: number };

/** The reason a cancelled call fails with: the signal's own FerryError, else a timeout. */
function abortReason(signal: CallSignal): FerryError {
  return signal.reason instanceof FerryError ? signal.reason : new FerryError('invoke-timeout', 'the call was cancelled');
}

/**
 * Resolves true once a connection to `open()` succeeds (and closes it again), false on an error
 * (nothing listens yet); rejects when the instance's socket was refused (see instance-socket.ts).
 */
function accepts(open: () => Socket): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException): void => {
      if (err.code === UNTRUSTED_SOCKET) reject(new FerryError('instance-start-failed', err.message, { cause: err }));
      else resolve(false);
    };
    let socket: Socket;
    try {
      socket = open();
    } catch (err) {
      return failed(err as NodeJS.ErrnoException);
    }
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      socket.destroy();
      failed(err);
    });
  });
}

/**
 * The gateway's side of an `http` runtime instance: a reverse proxy to the server the function
 * runs itself, on its Unix socket (`FERRY_SOCKET`) or TCP port (`PORT`), whichever it listens on.
 * Connections are kept alive and reused across calls, so the warm path costs no connection setup.
 */
export class HttpConnector implements Connector {
  private target: Target | undefined;
  private readonly agent: Agent;
  private readonly tunnels = new Set<Duplex>();
  private closed = false;

  get lost(): boolean {
    return this.closed;
  }
  private readonly pollMs: number;

  /**
   * @param opts.maxSockets connections to the instance at once (default 256; `Runtime.connect`
   *   does not get the version's `scaling.concurrency`, and the pool bounds calls anyway).
   * @param opts.pollMs readiness polling interval.
   */
  constructor(
    private readonly endpoint: HttpEndpoint,
    opts: { maxSockets?: number; pollMs?: number } = {},
  ) {
    // lifo: the most recently used socket is reused first, so the server's keep-alive timeout
    // closes the idle extras after a burst.
    this.agent = new Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 256, maxFreeSockets: 256, scheduling: 'lifo' });
    // Every new connection to the run-dir socket is checked again: the instance may have swapped
    // it. A refusal goes to the callback, which fails the request with it.
    this.agent.createConnection = (o: ClientRequestArgs, created?: (err: Error | null, s: Duplex) => void) => {
      if (!o.socketPath) return connect(o as NetConnectOpts);
      try {
        return this.openSocket();
      } catch (err) {
        created?.(err as Error, undefined as unknown as Duplex);
        return undefined;
      }
    };
    this.pollMs = opts.pollMs ?? 5;
  }

  /**
   * Readiness = the instance accepts a connection, on its socket or its port. No request is sent:
   * plenty of servers answer 404 on `/` and that would still mean "ready".
   */
  async ready(signal: AbortSignal): Promise<void> {
    const { socketPath, port, host } = this.endpoint;
    for (;;) {
      if (signal.aborted) throw signal.reason instanceof FerryError ? signal.reason : new FerryError('instance-start-failed', 'the instance did not start listening in time');
      // The socket first: if both answer, a stranger may have taken the port; the socket is ours.
      if (await accepts(() => this.openSocket())) {
        this.target = { socketPath };
        return;
      }
      // Port 0: the instance has a network of its own; only its socket can be ours.
      if (port !== 0 && (await accepts(() => connect(port, host)))) {
        this.target = { host, port };
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
        meta.onHeaders();
        res.writeHead(ures.statusCode ?? 502, responseHeaders(ures.rawHeaders, meta.extraHeaders));
        // A body of unknown length is a stream (server-sent events, ndjson): the client must see
        // the head before the first chunk, which may be long in coming.
        if (ures.headers['content-length'] === undefined) res.flushHeaders?.();
        res.once('close', () => {
          if (!settled) settle(meta.signal.aborted ? abortReason(meta.signal) : new FerryError('invoke-timeout', 'the client went away'));
        });
        ures.on('data', (chunk: Buffer) => {
          if (!res.write(chunk)) {
            ures.pause();
            res.once('drain', () => ures.resume());
          }
        });
        ures.once('end', () => {
          if (settled) return;
          res.end();
          settle();
        });
        ures.once('close', () => {
          if (!ures.complete) settle(new FerryError('instance-crashed', 'the instance closed the connection mid-response'));
        });
        ures.on('error', () => {
          /* 'close' follows */
        });
      };

      const send = (retry: boolean): void => {
        upstream = request({
          ...target,
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
    let done = false;
    const refuse = (): void => {
      if (done) return;
      done = true;
      socket.end('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      meta.onClose();
    };
    if (!target || this.closed) return refuse();

    let upstream: Socket;
    try {
      upstream = 'socketPath' in target ? this.openSocket() : connect(target.port, target.host);
    } catch {
      return refuse(); // the run-dir socket was refused (see instance-socket.ts)
    }
    let answered = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      this.tunnels.delete(socket);
      this.tunnels.delete(upstream);
      upstream.destroy();
      socket.destroy();
      meta.onClose();
    };
    this.tunnels.add(socket);
    this.tunnels.add(upstream);
    upstream.setNoDelay(true);
    // Header bytes are latin1 as Node parsed them; re-encoding as UTF-8 would change them.
    upstream.write(upgradeHead(req.method ?? 'GET', meta.path, req.rawHeaders, meta.requestId), 'latin1');
    if (head.length) upstream.write(head);
    upstream.once('data', () => (answered = true));
    upstream.on('error', () => {
      if (!answered && !done) {
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

  /** A connection to the instance's own socket, never to what a link there points at. */
  private openSocket(): Socket {
    return connectInstanceSocket(this.endpoint.socketPath, this.endpoint.owner);
  }

  close(): void {
    this.closed = true;
    this.agent.destroy();
    for (const s of this.tunnels) s.destroy();
    this.tunnels.clear();
  }
}
