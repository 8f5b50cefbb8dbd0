/**
 * Node heartbeats in a JetStream key-value bucket (`<prefix>_nodes`) whose max age is the time to
 * live: the server drops a heartbeat not renewed in time, whatever the clocks of the nodes say.
 * Keys are the node ids in base64url (the KV key alphabet has no room for every id).
 */
import type { KV } from '@nats-io/kv';
import type { NodeDirectory, NodeRecord } from '../../core/nodes.js';
import { openNats, type NatsConnectOptions, type NatsHandle } from '../../nats/index.js';

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

  async announce(rec: NodeRecord): Promise<void> {
    await this.kv.put(key(rec.id), JSON.stringify(rec));
  }

  /**
   * Asks the stream which keys it holds (its subjects, from one stream info) and reads each key's
   * newest message directly, not with `kv.keys()`: that one follows a consumer that waits for the
   * messages it counted, and heartbeats expire while it reads. Nor by stream sequence: a
   * heartbeat renewed while such a read goes on has left the place the read expected it, and a
   * live node would vanish from the list now and then. One message per node, so few reads.
   */
  async list(): Promise<NodeRecord[]> {
    const stream = `KV_${this.bucket}`;
    const prefix = `$KV.${this.bucket}.`;
    const { state } = await this.nats.jsm.streams.info(stream, { subjects_filter: `${prefix}>` });
    const got = await Promise.all(
      // Gone since the info (expired, or the node left): null.
      Object.keys(state.subjects ?? {}).map((subject) => this.nats.jsm.streams.getMessage(stream, { last_by_subj: subject }).catch(() => null)),
    );
    const out: NodeRecord[] = [];
    for (const m of got) {
      if (!m || m.data.length === 0) continue;
      const op = m.header?.get('KV-Operation');
      if (op && op !== 'PUT') continue;
      try {
        out.push(m.json<NodeRecord>());
      } catch {
        // not a heartbeat of this release
      }
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async leave(id: string): Promise<void> {
    await this.kv.purge(key(id));
  }

  async close(): Promise<void> {
    await this.nats.close();
  }
}

function key(id: string): string {
  return Buffer.from(id).toString('base64url');
}
