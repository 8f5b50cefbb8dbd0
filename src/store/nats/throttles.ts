/** Failed-attempt counters in a KV bucket (`<prefix>_throttles`), one key per counter, shared by every node. */
import type { ThrottleStore } from '../../core/store.js';
import type { ThrottleRecord } from '../../core/records.js';
import type { Bucket } from './bucket.js';
import { token } from './layout.js';

export class NatsThrottles implements ThrottleStore {
  constructor(private readonly bucket: Bucket) {}

  async get(key: string): Promise<ThrottleRecord | undefined> {
    return (await this.bucket.get<ThrottleRecord>(token(key)))?.value;
  }

  async put(rec: ThrottleRecord): Promise<void> {
    await this.bucket.put(token(rec.key), rec);
  }

  async delete(key: string): Promise<void> {
    await this.bucket.delete(token(key));
  }

  async prune(before: number): Promise<void> {
    for (const e of await this.bucket.scan<ThrottleRecord>()) {
      // Checked: a counter raised meanwhile stays.
      if (e.value.firstAt < before && e.value.blockedUntil < before) await this.bucket.delete(e.key, e.revision);
    }
  }
}
