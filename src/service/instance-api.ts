import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { lchown, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { DeployTarget } from '../core/index.js';
import { FerryError, sendProblem } from '../errors/index.js';
import type { InstanceTokens } from '../auth/index.js';

export interface InstanceApiOptions {
  tokens: InstanceTokens;
  /** Serves one request as the TCP server does: `/fn/*` to the invocations, the rest to the API. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Where the instance sees its run dir (`/run/ferry` in a sandbox, the host path otherwise). */
  viewRunDir(runDir: string): string;
  /** Who owns the socket when instances run as another user than Ferry (root with a sandbox uid). */
  owner: { uid: number; gid: number } | undefined;
  /** Paths a surface serves to instances besides these (e.g. a compat contract's); absent: none. */
  alsoServes?(path: string): boolean;
}

/** The socket's file name in the run dir, and the URL that tells a client "use the socket". */
export const apiSocketName = 'api.sock';
export const apiUrl = 'http://ferry';

const objectPath = /^\/v1\/functions\/[^/]+\/objects(?:\/|$)/;

/**
 * The instance API: one Unix socket per instance in its run dir (`/run/ferry/api.sock` inside),
 * the only way an instance reaches Ferry whatever its network policy. Every request on it acts
 * with the instance's token (set here; whatever the instance sent is replaced) and goes through
 * the same router and gateway as the TCP server, so object routes and `/fn/*` behave the same
 * and the permission table decides; anything else is refused here already.
 */
export class InstanceApi {
  private readonly servers = new Map<string, { server: Server; path: string }>();

  constructor(private readonly o: InstanceApiOptions) {}

  /** Starts the instance's socket and token; answers the environment that points at them. */
  async prepare(target: DeployTarget, inst: { id: string; runDir: string }): Promise<Record<string, string>> {
    const path = join(inst.runDir, apiSocketName);
    const token = this.o.tokens.issue(inst.id, target.function);
    const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => this.serve(token, req, res));
    this.servers.set(inst.id, { server, path });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        // The socket gets its mode as it is made (a Unix socket's bind happens within listen(),
        // synchronously, so the umask covers nothing else), and its owner with lchown below: no
        // chmod or chown that would follow a link put in its place (the run dir is the
        // instance's to write).
        const umask = process.umask(0o177);
        try {
          server.listen(path, () => {
            server.off('error', reject);
            resolve();
          });
        } finally {
          process.umask(umask);
        }
      });
      if (this.o.owner) await lchown(path, this.o.owner.uid, this.o.owner.gid);
    } catch (err) {
      this.release(inst.id);
      throw new FerryError('instance-start-failed', `cannot serve the instance API at ${path}: ${(err as Error).message}`);
    }
    return {
      FERRY_API_URL: apiUrl,
      FERRY_API_SOCKET: posix.join(this.o.viewRunDir(inst.runDir), apiSocketName),
      FERRY_TOKEN: token,
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

  /** The instance ended: its token stops working at once, its socket goes. */
  release(instanceId: string): void {
    this.o.tokens.revoke(instanceId);
    const s = this.servers.get(instanceId);
    if (!s) return;
    this.servers.delete(instanceId);
    s.server.close();
    s.server.closeAllConnections();
    // Whatever the instance left at the name goes (unlinked: a link is not followed).
    void rm(s.path, { force: true }).catch(() => {});
  }

  /** At shutdown, after the instances stopped: whatever is left. */
  close(): void {
    for (const id of [...this.servers.keys()]) this.release(id);
  }

  /** Instances with a live socket (for tests and metrics). */
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
