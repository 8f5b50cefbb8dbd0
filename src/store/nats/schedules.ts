/**
 * Cron schedules in a KV bucket (`<prefix>_schedules`), keyed `<F>.<id>` (tokens). `advance` is
 * a checked update from the revision read, so of two nodes firing one run, one wins.
 */
import type { ScheduleStore } from '../../core/store.js';
import type { ScheduleRecord } from '../../core/records.js';
import { FerryError } from '../../errors/index.js';
import type { Bucket } from './bucket.js';
import { token } from './layout.js';

type Stored = Omit<ScheduleRecord, 'body'> & { body: string };

const fromStored = ({ body, ...rest }: Stored): ScheduleRecord => ({ ...rest, body: Buffer.from(body, 'base64') });
const keyOf = (fn: string, id: string): string => `${token(fn)}.${token(id)}`;
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export class NatsSchedules implements ScheduleStore {
  constructor(
    private readonly bucket: Bucket,
    /** Whether the function exists and is not deleted. */
    private readonly live: (fn: string) => Promise<boolean>,
  ) {}

  /** Creates or replaces; a replacement keeps `createdAt`, `createdBy` and `lastRun`. */
  async put(rec: ScheduleRecord): Promise<void> {
    if (!(await this.live(rec.function))) throw new FerryError('function-not-found', `no function named '${rec.function}'`);
    const { body, ...rest } = rec;
    await this.bucket.change<Stored>(keyOf(rec.function, rec.id), (cur) => ({
      ...rest,
      body: body.toString('base64'),
      ...(cur ? { createdAt: cur.createdAt, createdBy: cur.createdBy, lastRun: cur.lastRun } : {}),
    }));
  }

  async get(fn: string, id: string): Promise<ScheduleRecord | undefined> {
    const e = await this.bucket.get<Stored>(keyOf(fn, id));
    return e && fromStored(e.value);
  }

  async list(fn: string | undefined): Promise<ScheduleRecord[]> {
    const all = await this.bucket.scan<Stored>(fn === undefined ? '>' : `${token(fn)}.*`);
    return all.map((e) => fromStored(e.value)).sort((a, b) => compare(a.function, b.function) || compare(a.id, b.id));
  }

  async delete(fn: string, id: string): Promise<boolean> {
    const { before } = await this.bucket.change<Stored>(keyOf(fn, id), () => null);
    return before !== undefined;
  }

  async advance(fn: string, id: string, expected: number | null, lastRun: number, nextRun: number | null): Promise<boolean> {
    const cur = await this.bucket.get<Stored>(keyOf(fn, id));
    if (!cur || cur.value.nextRun !== expected) return false;
    return (await this.bucket.update(cur.key, { ...cur.value, lastRun, nextRun }, cur.revision)) !== undefined;
  }

  /** Part of a function's sweep: each deleted only if unchanged since read. */
  async deleteOf(fn: string): Promise<void> {
    for (const e of await this.bucket.scan(`${token(fn)}.*`)) await this.bucket.delete(e.key, e.revision);
  }
}
