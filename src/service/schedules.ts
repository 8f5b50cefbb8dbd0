import { assertName, type ScheduleRecord, type Store } from '../core/index.js';
import { FerryError } from '../errors/index.js';

/** What a fired schedule asks for: one execution of the function's latest version. */
export interface ScheduledRun {
  function: string;
  schedule: string;
  body: Buffer;
  contentType: string;
  /** The same for every node firing the same run, so a cluster creates it once. */
  idempotencyKey: string;
}

export interface SchedulesOptions {
  store: Store;
  submit(run: ScheduledRun): Promise<void>;
  info(message: string, fields: Record<string, unknown>): void;
  warn(message: string, err: unknown): void;
}

const maxBodyBytes = 256 * 1024;
/** Longest sleep between looks at the table: picks up schedules another node changed. */
const maxSleepMs = 30_000;

let cronerModule: Promise<typeof import('croner')> | undefined;
/** croner, loaded when the first schedule is put or due: a server without schedules never pays for it. */
function croner(): Promise<typeof import('croner')> {
  return (cronerModule ??= import('croner'));
}

/** The next run strictly after `after`, or null when the expression has none left. */
export async function nextRun(cron: string, timezone: string | null, after: number): Promise<number | null> {
  const { Cron } = await croner();
  const c = new Cron(cron, { paused: true, ...(timezone ? { timezone } : {}) });
  return c.nextRun(new Date(after))?.getTime() ?? null;
}

/**
 * Cron schedules (croner reads the expressions). One timer sleeps until the earliest due run;
 * a run is claimed in the store (compare-and-set of next_run) before its execution is
 * submitted, so each run happens once, and a run missed while the server was down runs once at
 * start, then the schedule continues from now.
 */
export class Schedules {
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private ticking: Promise<void> = Promise.resolve();

  constructor(private readonly o: SchedulesOptions) {}

  start(): void {
    this.kick(0);
  }

  async put(fn: string, id: string, body: unknown, actor: string): Promise<{ rec: ScheduleRecord; created: boolean }> {
    assertName('schedule', id);
    const b = body as Record<string, unknown> | null;
    if (!b || typeof b !== 'object' || Array.isArray(b)) throw new FerryError('invalid-body', 'expected {"cron": "*/5 * * * *", "body": ..., "timezone": "Europe/Berlin"}');
    for (const k of Object.keys(b)) if (!['cron', 'body', 'timezone'].includes(k)) throw new FerryError('invalid-body', `unknown key '${k}': a schedule has cron, body and timezone`);
    if (typeof b.cron !== 'string' || b.cron.length > 200) throw new FerryError('invalid-body', 'cron: a cron expression such as "*/5 * * * *"');
    const timezone = b.timezone === undefined || b.timezone === null ? null : String(b.timezone);
    if (timezone !== null && !validZone(timezone)) throw new FerryError('invalid-body', `timezone: '${timezone.slice(0, 64)}' is not an IANA time zone (e.g. Europe/Berlin)`);
    let next: number | null;
    try {
      next = await nextRun(b.cron, timezone, Date.now());
    } catch (err) {
      throw new FerryError('invalid-body', `cron: ${(err as Error).message}`);
    }
    if (next === null) throw new FerryError('invalid-body', 'cron: the expression never fires again');
    // A string body goes as text, anything else as JSON.
    const text = b.body === undefined ? '' : typeof b.body === 'string' ? b.body : JSON.stringify(b.body);
    const payload = Buffer.from(text);
    if (payload.length > maxBodyBytes) throw new FerryError('body-too-large', `a schedule body is at most ${maxBodyBytes} bytes`);
    const before = await this.o.store.schedules.get(fn, id);
    const now = Date.now();
    const rec: ScheduleRecord = {
      function: fn,
      id,
      cron: b.cron,
      timezone,
      body: payload,
      contentType: typeof b.body === 'string' || b.body === undefined ? 'text/plain; charset=utf-8' : 'application/json',
      createdBy: before?.createdBy ?? actor,
      createdAt: before?.createdAt ?? now,
      updatedAt: now,
      lastRun: before?.lastRun ?? null,
      nextRun: next,
    };
    await this.o.store.schedules.put(rec);
    this.kick(0);
    return { rec, created: !before };
  }

  list(fn: string): Promise<ScheduleRecord[]> {
    return this.o.store.schedules.list(fn);
  }

  async get(fn: string, id: string): Promise<ScheduleRecord> {
    const rec = await this.o.store.schedules.get(fn, id);
    if (!rec) throw new FerryError('schedule-not-found', `function '${fn}' has no schedule '${id}'`);
    return rec;
  }

  async remove(fn: string, id: string): Promise<void> {
    if (!(await this.o.store.schedules.delete(fn, id))) throw new FerryError('schedule-not-found', `function '${fn}' has no schedule '${id}'`);
  }

  private kick(ms: number): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.ticking = this.ticking.then(() => this.tick()).catch((err) => this.o.warn('schedules: tick failed', err));
    }, ms);
    this.timer.unref();
  }

  /** Fires every due run once (a run missed while down counts as one), then sleeps to the next. */
  private async tick(): Promise<void> {
    const now = Date.now();
    let earliest = now + maxSleepMs;
    for (const s of await this.o.store.schedules.list(undefined)) {
      if (this.closed) return;
      if (s.nextRun === null) continue;
      if (s.nextRun > now) {
        earliest = Math.min(earliest, s.nextRun);
        continue;
      }
      let next: number | null = null;
      try {
        next = await nextRun(s.cron, s.timezone, now);
      } catch (err) {
        this.o.warn(`schedule ${s.function}/${s.id} has an expression that no longer parses`, err);
      }
      const slot = s.nextRun;
      if (!(await this.o.store.schedules.advance(s.function, s.id, slot, slot, next))) continue; // another node fired it
      if (now - slot > 60_000) this.o.info('running a schedule missed while the server was down', { function: s.function, schedule: s.id, due: new Date(slot).toISOString() });
      await this.o
        .submit({ function: s.function, schedule: s.id, body: s.body, contentType: s.contentType, idempotencyKey: `schedule:${s.id}:${slot}` })
        .catch((err) => this.o.warn(`schedule ${s.function}/${s.id} could not create its execution`, err));
      if (next !== null) earliest = Math.min(earliest, next);
    }
    this.kick(Math.max(0, earliest - Date.now()));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.ticking;
  }
}

function validZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
