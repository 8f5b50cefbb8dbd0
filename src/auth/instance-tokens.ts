import { generateToken, hashToken } from './tokens.js';
import type { Principal } from './principal.js';

/**
 * Tokens of running instances: one random `fry_` token per instance, kept in this server's memory
 * only (never in the store, never logged) and revoked when the instance ends. Its principal is
 * built at every use from the function's current owner, so moving the function to another group
 * moves its instances' rights with it.
 */
export class InstanceTokens {
  private readonly byHash = new Map<string, { instance: string; fn: string }>();
  private readonly byInstance = new Map<string, string>();
  /** Requests that arrived on an instance's own socket: the only ones an instance token works on. */
  private readonly onSocket = new WeakSet<object>();

  constructor(private readonly ownerOf: (fn: string) => string | undefined) {}

  /** A new token for the instance (replacing one it had). */
  issue(instance: string, fn: string): string {
    this.revoke(instance);
    const token = generateToken();
    const hash = hashToken(token);
    this.byHash.set(hash, { instance, fn });
    this.byInstance.set(instance, hash);
    return token;
  }

  revoke(instance: string): void {
    const hash = this.byInstance.get(instance);
    if (hash === undefined) return;
    this.byInstance.delete(instance);
    this.byHash.delete(hash);
  }

  /** Marks a request that arrived on an instance's API socket (which set its token itself). */
  admit(req: object): void {
    this.onSocket.add(req);
  }

  /** Whether `req` arrived on an instance's API socket. */
  admitted(req: object | undefined): boolean {
    return req !== undefined && this.onSocket.has(req);
  }

  /** The principal of a live instance token, by the token's sha256; undefined for any other. */
  find(hash: string): Principal | undefined {
    const e = this.byHash.get(hash);
    if (!e) return undefined;
    const owner = this.ownerOf(e.fn);
    if (owner === undefined) return undefined;
    return {
      subject: `instance:${e.instance}`,
      // read/write/remove for its objects, execute for /fn; `scope` confines the first three.
      groups: [owner, 'permission:read', 'permission:write', 'permission:remove', 'permission:execute'],
      tokenId: e.instance,
      via: 'instance-token',
      scope: e.fn,
    };
  }

  get size(): number {
    return this.byHash.size;
  }
}
