/**
 * How a worker knows a call comes from a gateway of its own cluster: every dispatch carries
 * `v1.<time>.<key id>.<HMAC-SHA256 over "v1.<time>.<worker id>">` keyed by the cluster's shared
 * key set (in the store, like the token signing keys). It names the worker it is for, expires in
 * two minutes, and reveals nothing of the key. It does not hide the call: gateways and workers
 * talk over a private network (docs/cluster.md).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { KeySet, KeyStore } from '../../core/store.js';

export const CLUSTER_KEY_SET = 'cluster-dispatch';
const maxSkewMs = 120_000;
/** A gateway reuses a token this long (well inside the skew a worker allows). */
const reuseMs = 30_000;
/** Verified tokens a worker remembers (a gateway brings one per `reuseMs`, so a few per gateway). */
const verifiedMax = 1024;

export class ClusterAuth {
  private readonly issued = new Map<string, { token: string; at: number }>();
  /**
   * Tokens whose signature checked out, with the worker and time they name: every call of the
   * next `reuseMs` brings the same token, and its HMAC (a tenth of a worker's time per call) is
   * then computed once. Only signed tokens get here, so no caller can fill it.
   */
  private readonly verified = new Map<string, { workerId: string; atMs: number }>();

  constructor(private readonly keys: KeyStore) {}

  /** The token for calls to `workerId` (reused for a while: signing every call costs for nothing). */
  async tokenFor(workerId: string, now = Date.now()): Promise<string> {
    const cached = this.issued.get(workerId);
    if (cached && now - cached.at < reuseMs) return cached.token;
    const { current } = await this.keySet();
    const payload = `v1.${Math.floor(now / 1000)}`;
    const token = `${payload}.${current.id}.${sign(current.key, `${payload}.${workerId}`)}`;
    this.issued.set(workerId, { token, at: now });
    return token;
  }

  /** Whether `token` is a gateway's, for this worker, and recent. */
  async verify(token: string | undefined, workerId: string, now = Date.now()): Promise<boolean> {
    if (typeof token !== 'string') return false;
    // Still checked on every call: the worker it names, and that it is recent.
    const seen = this.verified.get(token);
    if (seen) return seen.workerId === workerId && Math.abs(seen.atMs - now) <= maxSkewMs;
    const m = /^v1\.(\d{1,12})\.([0-9a-f]{16})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!m) return false;
    const atMs = Number(m[1]) * 1000;
    if (Math.abs(atMs - now) > maxSkewMs) return false;
    const find = (set: KeySet): Buffer | undefined => set.keys.find((k) => k.id === m[2])?.key;
    // A key id this node has not seen: another node rotated; read the set again.
    const key = find(await this.keySet()) ?? find(await this.keySet(true));
    if (!key) return false;
    const want = Buffer.from(sign(key, `v1.${m[1]}.${workerId}`));
    const got = Buffer.from(m[3]!);
    if (got.length !== want.length || !timingSafeEqual(got, want)) return false;
    this.remember(token, { workerId, atMs }, now);
    return true;
  }

  private remember(token: string, entry: { workerId: string; atMs: number }, now: number): void {
    if (this.verified.size >= verifiedMax) {
      for (const [t, e] of this.verified) if (Math.abs(e.atMs - now) > maxSkewMs) this.verified.delete(t);
      if (this.verified.size >= verifiedMax) this.verified.clear();
    }
    this.verified.set(token, entry);
  }

  private keySet(refresh = false): Promise<KeySet> {
    return this.keys.keySet(CLUSTER_KEY_SET, () => randomBytes(32), { refresh });
  }
}

function sign(key: Buffer, text: string): string {
  return createHmac('sha256', key).update(text).digest('base64url');
}
