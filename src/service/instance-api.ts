import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { DeployTarget, InstanceStreamHandler, SandboxView } from '../core/index.js';
import { FerryError, sendProblem } from '../errors/index.js';
import type { InstanceTokens } from '../auth/index.js';

export interface InstanceApiOptions {
  tokens: InstanceTokens;
  /** Serves one request as the TCP server does: `/fn/*` to the invocations, the rest to the API. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Paths a surface serves to instances besides these (e.g. a compat contract's); absent: none. */
  alsoServes?(path: string): boolean;
}

/** The URL that tells a client "use the API socket". */
export const apiUrl = 'http://ferry';

const objectPath = /^\/v1\/functions\/[^/]+\/objects(?:\/|$)/;

/**
 * The instance API: HTTP over the streams an instance opens on its channel (the driver's: a
 * socket in its run dir for bwrap and process, `/run/ferry/api.sock` inside), the only way an
 * instance reaches Ferry whatever its network policy. Every request on it acts with the instance's
 * token (set here; whatever the instance sent is replaced) and goes through the same router and
 * gateway as the TCP server, so object routes and `/fn/*` behave the same and the permission
 * table decides; anything else is refused here already.
 */
export class InstanceApi {
  /** Per instance: its HTTP server (never listening) and the streams it was handed. */
  private readonly servers = new Map<string, { server: Server; streams: Set<Duplex> }>();

  constructor(private readonly o: InstanceApiOptions) {}

  /**
   * Issues the instance's token; answers the environment that points at its API and the handler
   * of the streams it opens (the driver serves them from before the instance's code runs).
   */
  prepare(target: DeployTarget, inst: { id: string; view: SandboxView }): { env: Record<string, string>; onInstanceStream: InstanceStreamHandler } {
    const token = this.o.tokens.issue(inst.id, target.function);
    // Never listens: the driver hands it each stream as a connection.
    const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => this.serve(token, req, res));
    const entry = { server, streams: new Set<Duplex>() };
    this.servers.set(inst.id, entry);
    return {
      env: { FERRY_API_URL: apiUrl, FERRY_API_SOCKET: inst.view.channel.api, FERRY_TOKEN: token },
      onInstanceStream: (stream: Duplex) => {
        // Released: its token no longer works anyway.
        if (this.servers.get(inst.id) !== entry) return void stream.destroy();
        // A server that never listens does not track its connections: they are kept here.
        entry.streams.add(stream);
        stream.once('close', () => entry.streams.delete(stream));
        server.emit('connection', stream);
      },
    };
  }

  private serve(token: string, req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    let path = '';
    try {
      path = new URL(url, 'http://ferry').pathname;
    } catch {
      // not a path: refused below
    }
    if (!url.startsWith('/fn/') && !objectPath.test(path) && !this.o.alsoServes?.(path)) {
      req.resume();
      sendProblem(res, new FerryError('forbidden', "the instance API serves /fn/* and the function's own objects only"), url);
      return;
    }
    setAuthorization(req, `Bearer ${token}`);
    this.o.tokens.admit(req);
    this.o.handle(req, res);
  }

  /** The instance ended: its token stops working at once, its connections close. */
  release(instanceId: string): void {
    this.o.tokens.revoke(instanceId);
    const entry = this.servers.get(instanceId);
    if (!entry) return;
    this.servers.delete(instanceId);
    for (const stream of entry.streams) stream.destroy();
  }

  /** At shutdown, after the instances stopped: whatever is left. */
  close(): void {
    for (const id of [...this.servers.keys()]) this.release(id);
  }

  /** Instances whose API is served (for tests and metrics). */
  get size(): number {
    return this.servers.size;
  }
}

/** Replaces every Authorization header: the gateway reads the raw list, the router the parsed one. */
function setAuthorization(req: IncomingMessage, value: string): void {
  const raw = req.rawHeaders;
  for (let i = raw.length - 2; i >= 0; i -= 2) if (raw[i]!.toLowerCase() === 'authorization') raw.splice(i, 2);
  raw.push('Authorization', value);
  req.headers.authorization = value;
}
