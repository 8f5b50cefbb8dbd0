/**
 * Node heartbeats in a JetStream key-value bucket (`<prefix>_nodes`) whose max age is the time to
 * live: the server drops a heartbeat not renewed in time, whatever the clocks of the nodes say.
 * Keys are the node ids in base64url (the KV key alphabet has no room for every id).
 */
import type { KV } from '@nats-io/kv';
import type { NodeDirectory, NodeRecord } from '../../core/nodes.js';
import { guarded, openNats, scanKv, type NatsConnectOptions, type NatsHandle } from '../../nats/index.js';

const decoder = new TextDecoder();

export class KvNodeDirectory implements NodeDirectory {
  private constructor(private readonly nats: NatsHandle, private readonly kv: KV, private readonly bucket: string) {}

  static async open(opts: { nats: NatsConnectOptions; prefix: string; ttlMs: number }): Promise<KvNodeDirectory> {
    const nats = await openNats(opts.nats);
    try {
      // `create` answers the bucket when it exists already (another node made it).
      const bucket = `${opts.prefix}_nodes`;
      const kv = await nats.kvm.create(bucket, { history: 1, ttl: opts.ttlMs });
      return new KvNodeDirectory(nats, kv, bucket);
    } catch (err) {
      await nats.close();
      throw err;
    }
  }

  /** Every call fails at once with `store-unavailable` while NATS is away (as the store's calls do). */
  announce(rec: NodeRecord): Promise<void> {
    return guarded(async () => void (await this.kv.put(key(rec.id), JSON.stringify(rec))));
  }

  /** The live heartbeats (`scanKv`: a heartbeat renewed or expiring while it reads is listed or gone, never lost). */
  async list(): Promise<NodeRecord[]> {
    const out: NodeRecord[] = [];
    for (const r of await scanKv(this.nats, this.bucket)) {
      try {
        out.push(JSON.parse(decoder.decode(r.data)) as NodeRecord);
      } catch {
        // not a heartbeat of this release
      }
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  leave(id: string): Promise<void> {
    return guarded(() => this.kv.purge(key(id)));
  }

  async close(): Promise<void> {
    await this.nats.close();
  }
}

function key(id: string): string {
  return Buffer.from(id).toString('base64url');
}
