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
   * Reads the bucket's stream message by message, from its first sequence to its last, not with
   * `kv.keys()`: that one follows a consumer that waits for the messages it counted, and
   * heartbeats expire while it reads. The span is short: one message per node, each renewed (so
   * replaced) every interval, and nothing older than the time to live. A heartbeat replaced while
   * the read goes on is gone from where the read expected it: its newer copy is past the last
   * sequence first seen, so the read goes on to the stream's new end (else a live node would
   * vanish from the list now and then).
   */
  async list(): Promise<NodeRecord[]> {
    const stream = `KV_${this.bucket}`;
    let { state } = await this.nats.jsm.streams.info(stream);
    const latest = new Map<string, NodeRecord>();
    let seq = Math.max(1, state.first_seq);
    for (let round = 0; round < 8; round++) {
      let missed = false;
      for (; seq <= state.last_seq; seq++) {
        const m = await this.nats.jsm.streams.getMessage(stream, { seq }).catch(() => null);
        if (!m) {
          missed = true; // replaced, expired or purged since the info
          continue;
        }
        const key = m.subject.slice(`$KV.${this.bucket}.`.length);
        const op = m.header?.get('KV-Operation');
        if ((op && op !== 'PUT') || m.data.length === 0) {
          latest.delete(key);
          continue;
        }
        try {
          latest.set(key, m.json<NodeRecord>());
        } catch {
          // not a heartbeat of this release
        }
      }
      if (!missed) break;
      ({ state } = await this.nats.jsm.streams.info(stream));
    }
    return [...latest.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
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
