import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { FerryError } from '../errors/index.js';
import { defaultLimits, defaultSandbox, type Connector, type DeployTarget, type InstanceStreamHandler, type LaunchContext, type PoolStatus, type ResolvedTarget, type Runtime, type SandboxDriver, type SandboxProcess, type SandboxSettings } from '../core/index.js';
import { shortId } from '../util/ids.js';
import { recordWhileRunning } from './orphans.js';
import { makeRunDir, removeRunDir } from './run-dir.js';
import { linkOf } from './instance-link.js';

/** How long after a take the pool starts its replacement (see `refillSoon`). */
const REFILL_DELAY_MS = 100;

/** A pooled sandbox the scheduler took: its runtime listens and is connected, with no function. */
export interface PooledInstance {
  readonly id: string;
  readonly runDir: string;
  readonly proc: SandboxProcess;
  readonly connector: Connector;
}

export interface PrestartOptions {
  driver: SandboxDriver;
  /** Runtimes to keep sandboxes for; those without `pooledLaunch` and `load` are left out. */
  runtimes: Runtime[];
  /** Idle pooled sandboxes kept per runtime. */
  size: number;
  /** Pooled sandboxes get `<runRoot>/<id>/` as their run dir, like instances (the same id). */
  runRoot: string;
  /** Where their pid records go (the scheduler's `pidDir`). */
  pidDir: string;
  log(level: 'info' | 'warn', message: string): void;
  startTimeoutMs?: number;
  stopGraceMs?: number;
}

interface Entry {
  id: string;
  runDir: string;
  proc: SandboxProcess | undefined;
  connector: Connector | undefined;
  /** The scheduler owns it from then on; the pool no longer watches it. */
  taken: boolean;
}

/** The pooled sandboxes of one runtime. */
interface Lane {
  runtime: Runtime;
  idle: Entry[];
  starting: number;
  /** Kept full: a version its sandboxes can serve was deployed (`expect`). Until then none starts. */
  active: boolean;
  /** Consecutive failed starts: a host that cannot start them is retried with backoff, not in a loop. */
  failures: number;
  retry: NodeJS.Timeout | undefined;
  announced: boolean;
}

/**
 * Pooled sandboxes run the default policy in the default tier; only a function asking for exactly
 * it (and naming no tier) can take one.
 */
function samePolicy(s: SandboxSettings): boolean {
  const d = defaultSandbox;
  return s.tier === undefined && s.network === d.network && s.seccomp === undefined && d.seccomp === undefined && Object.keys(s.roBinds).length === 0 &&
    s.mountProc === d.mountProc && s.mountDev === d.mountDev && s.mountTmp === d.mountTmp && !s.hostLibraries && s.packageAlias === undefined;
}

/** Whether a pooled sandbox can run this version exactly as a cold start would. */
export function poolable(target: Pick<DeployTarget, 'config'>, runtime: Runtime): boolean {
  const c = target.config;
  // /tmp's size is fixed when bwrap mounts it, at the pooled sandbox's start.
  // Secrets become environment variables too: one named e.g. NODE_OPTIONS must start cold.
  const env = { ...c.env, ...Object.fromEntries(c.secrets.map((n) => [n, ''])) };
  // A pooled sandbox has the host's root; an image version needs its own.
  return !c.image && samePolicy(c.sandbox) && c.limits.tmpMb === defaultLimits.tmpMb && (runtime.poolable?.({ ...c, env }) ?? true);
}

/** The driver could not give a pooled sandbox its version: start one cold instead. */
export class HandOffError extends FerryError {
  constructor(cause: unknown) {
    super('instance-start-failed', messageOf(cause), { cause });
  }
}

/**
 * Gives a taken pooled sandbox its version: the package and limits through the driver (a
 * failure there is a HandOffError), then the LOAD. A LOAD that fails is the function's own
 * failure (its handler does not load), exactly as a cold start of it would fail.
 */
export async function handOff(driver: SandboxDriver, target: DeployTarget, local: ResolvedTarget, pooled: PooledInstance, ctx: LaunchContext, onInstanceStream: InstanceStreamHandler | undefined, signal: AbortSignal): Promise<void> {
  let driven: Promise<void>;
  try {
    const child = pooled.proc.child;
    if (child.exitCode !== null || child.signalCode !== null) throw new FerryError('instance-start-failed', 'the pooled sandbox has exited');
    driven = driver.handOff!(pooled.proc, { instanceId: pooled.id, packageDir: local.packageDir, limits: target.config.limits, sandbox: target.config.sandbox, ...(onInstanceStream && { onInstanceStream }) });
  } catch (err) {
    throw new HandOffError(err);
  }
  driven.catch(() => {}); // awaited below
  // Worked out while the driver's mounts are under way (a cold call waits on both).
  const load = local.runtime.load!(ctx);
  await driven.catch((err: unknown) => {
    throw new HandOffError(err);
  });
  await pooled.connector.load!(load, signal);
}

/**
 * The pre-booted pool: per runtime, `size` generic sandboxes already started (bwrap up, the
 * runtime's shim listening and connected, no function loaded), so that a function's first call
 * skips the sandbox's and the interpreter's start-up. A taken sandbox is replaced in the
 * background; a pooled sandbox serves at most one function and is never reused. A runtime's
 * pool fills once a version it can serve is deployed (`expect`): a server with no python
 * function keeps no python sandbox waiting, at start or at rest.
 */
export class PrestartPool {
  private readonly lanes = new Map<string, Lane>();
  private readonly starts = new Set<Promise<void>>();
  private readonly aborts = new Set<AbortController>();
  private closing = false;
  private started = false;
  /** The grace of the shutdown under way: sandboxes still starting then stop with it too. */
  private closingGraceMs: number | undefined;

  constructor(private readonly opts: PrestartOptions) {
    for (const runtime of opts.runtimes) {
      if (runtime.pooledLaunch && runtime.load) this.lanes.set(runtime.name, { runtime, active: false, idle: [], starting: 0, failures: 0, retry: undefined, announced: false });
    }
  }

  /** From now on the pools that `expect` made active are filled (in the background). */
  start(): void {
    this.started = true;
    for (const lane of this.lanes.values()) if (lane.active) this.fill(lane);
  }

  /**
   * A version like `target` exists or is being deployed: its runtime's pool is kept full from
   * now on, if a pooled sandbox can serve such a version (before `start`, once it starts).
   */
  expect(target: Pick<DeployTarget, 'runtime' | 'config'>): void {
    const lane = this.lanes.get(target.runtime);
    if (!lane || lane.active || !poolable(target, lane.runtime)) return;
    lane.active = true;
    if (this.started) this.fill(lane);
  }

  /** A waiting pooled sandbox for this version, if one matches; the pool refills behind it. */
  take(target: DeployTarget): PooledInstance | undefined {
    const lane = this.lanes.get(target.config.runtime);
    if (!lane || lane.runtime.name !== target.runtime || lane.idle.length === 0 || !poolable(target, lane.runtime)) return undefined;
    let entry: Entry | undefined;
    while ((entry = lane.idle.shift())) {
      const child = entry.proc!.child;
      if (child.exitCode === null && child.signalCode === null && !entry.connector!.lost) break;
      void this.discard(entry); // died a moment ago; its exit handler no longer finds it idle
    }
    this.refillSoon(lane);
    if (!entry) return undefined;
    entry.taken = true;
    return { id: entry.id, runDir: entry.runDir, proc: entry.proc!, connector: entry.connector! };
  }

  status(): PoolStatus {
    const runtimes = [...this.lanes.values()].map((l) => ({
      runtime: l.runtime.name,
      active: l.active,
      ready: l.idle.length,
      starting: l.starting,
      // Host pids of the waiting sandboxes (for measuring what the pool costs at rest).
      pids: l.idle.map((e) => e.proc!.child.pid).filter((p): p is number => p !== undefined),
    }));
    return { enabled: true, size: this.opts.size, runtimes };
  }

  /** Stops every waiting and starting pooled sandbox; resolves once they are gone. */
  async shutdown(graceMs: number): Promise<void> {
    this.closing = true;
    this.closingGraceMs = graceMs;
    for (const a of this.aborts) a.abort(new FerryError('shutting-down'));
    const stops: Promise<void>[] = [];
    for (const lane of this.lanes.values()) {
      clearTimeout(lane.retry);
      for (const e of lane.idle.splice(0)) stops.push(this.discard(e, graceMs));
    }
    await Promise.all([...stops, ...this.starts]);
  }

  private fill(lane: Lane): void {
    if (this.closing || lane.retry || !this.started || !lane.active) return;
    while (lane.idle.length + lane.starting < this.opts.size) {
      lane.starting++;
      const p: Promise<void> = this.prestart(lane).finally(() => this.starts.delete(p));
      this.starts.add(p);
    }
  }

  private async prestart(lane: Lane): Promise<void> {
    const { driver, runRoot } = this.opts;
    const id = shortId();
    const entry: Entry = { id, runDir: join(runRoot, id), proc: undefined, connector: undefined, taken: false };
    const timeoutMs = this.opts.startTimeoutMs ?? 30_000;
    const abort = new AbortController();
    this.aborts.add(abort);
    const timer = setTimeout(() => abort.abort(new FerryError('instance-start-failed', `not ready within ${timeoutMs} ms`)), timeoutMs);
    try {
      await makeRunDir(driver, entry.runDir);
      const view = driver.view({ packageDir: entry.runDir, runDir: entry.runDir });
      const plan = lane.runtime.pooledLaunch!({ instanceId: id, view });
      const proc = await driver.prestart!({ instanceId: id, argv: plan.argv, env: plan.env, runDir: entry.runDir, cwd: plan.cwd, limits: { ...defaultLimits }, sandbox: defaultSandbox, rootfs: plan.rootfs, ...(plan.channel && { channel: plan.channel }) });
      entry.proc = proc;
      // Found again by the next start should this server be killed (scheduler/orphans.ts).
      recordWhileRunning(this.opts.pidDir, id, proc.child);
      proc.child.once('exit', (code, sig) => {
        abort.abort(new FerryError('instance-start-failed', `exited while starting (${sig ?? `exit code ${code}`})`));
        this.onExit(lane, entry, code, sig);
      });
      proc.child.once('error', (err) => abort.abort(new FerryError('instance-start-failed', err.message)));
      entry.connector = lane.runtime.connect(linkOf(proc, plan));
      await entry.connector.ready(abort.signal);
      if (this.closing) throw new FerryError('shutting-down');
      lane.idle.push(entry);
      lane.failures = 0;
      if (!lane.announced && lane.idle.length >= this.opts.size) {
        lane.announced = true;
        this.opts.log('info', `pre-booted pool ready: ${this.opts.size} ${lane.runtime.name} sandbox(es) waiting`);
      }
    } catch (err) {
      if (!this.closing) {
        lane.failures++;
        const stderr = entry.proc?.child.stderr ? await tail(entry.proc.child.stderr) : '';
        this.opts.log('warn', `a pooled ${lane.runtime.name} sandbox could not start: ${messageOf(err)}${stderr ? `: ${stderr}` : ''}`);
      }
      await this.discard(entry);
      this.retryLater(lane);
    } finally {
      clearTimeout(timer);
      this.aborts.delete(abort);
      lane.starting--;
    }
  }

  /** A waiting pooled sandbox died (nothing of a function ran in it): replace it. */
  private onExit(lane: Lane, entry: Entry, code: number | null, sig: NodeJS.Signals | null): void {
    const i = lane.idle.indexOf(entry);
    if (entry.taken || i < 0) return;
    lane.idle.splice(i, 1);
    lane.failures++;
    void (async () => {
      const stderr = entry.proc?.child.stderr ? await tail(entry.proc.child.stderr) : '';
      this.opts.log('warn', `a waiting pooled ${lane.runtime.name} sandbox exited (${sig ?? `exit code ${code}`})${stderr ? `: ${stderr}` : ''}`);
      await this.discard(entry);
      this.retryLater(lane);
    })();
  }

  /**
   * Starting a sandbox costs the host ~100 ms of CPU (and blocks the event loop for a spawn):
   * started at once, it would compete with the hand-off and first call it was taken for.
   */
  private refillSoon(lane: Lane): void {
    if (this.closing || lane.retry) return;
    lane.retry = setTimeout(() => {
      lane.retry = undefined;
      this.fill(lane);
    }, REFILL_DELAY_MS);
    lane.retry.unref();
  }

  private retryLater(lane: Lane): void {
    if (this.closing || lane.retry) return;
    if (lane.failures === 0) return this.fill(lane);
    const delay = Math.min(30_000, 250 * 2 ** Math.min(lane.failures - 1, 7));
    lane.retry = setTimeout(() => {
      lane.retry = undefined;
      this.fill(lane);
    }, delay);
    lane.retry.unref();
  }

  /** Stops a pooled sandbox that will serve nothing, and removes its run dir. */
  private async discard(entry: Entry, graceMs = this.closingGraceMs ?? this.opts.stopGraceMs ?? 5000): Promise<void> {
    entry.connector?.close();
    await entry.proc?.stop(graceMs).catch(() => {});
    await removeRunDir(this.opts.driver, entry.runDir).catch((err: unknown) => this.opts.log('warn', `the run dir of a pooled sandbox was not removed: ${messageOf(err)}`));
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** What a stream still holds (up to 2 KB, within 200 ms): a failed sandbox's last words. */
function tail(stream: Readable): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const done = (): void => {
      clearTimeout(timer);
      stream.removeAllListeners('data');
      resolve(text.trim().slice(-2000));
    };
    const timer = setTimeout(done, 200);
    stream.setEncoding('utf8');
    stream.on('data', (s: string) => (text += s));
    stream.once('end', done);
    stream.once('error', done);
  });
}
