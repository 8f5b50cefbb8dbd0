import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { FerryError } from '../errors/index.js';
import type { AcquireOptions, CallSignal, DeployTarget, InstanceInfo, InstancePool, LaunchPlan, Lease, PoolStatus, ResolvedTarget, SandboxDriver } from '../core/index.js';
import { sandboxRootOf } from '../core/index.js';
import { shortId } from '../util/ids.js';
import { Instance } from './instance.js';
import { WaitQueue } from './wait-queue.js';
import { recordWhileRunning } from './orphans.js';
import { makeRunDir, removeRunDir } from './run-dir.js';
import { describeExitOf, exitReasonOf } from './exits.js';
import { freePort } from './free-port.js';
import { handOff, HandOffError, type PooledInstance, type PrestartPool } from './prestart-pool.js';
import type { SchedulerOptions } from './scheduler-options.js';
import { coldSpec, linkOf } from './instance-link.js';
import { TargetResolver } from './target-resolver.js';

/** All instances and waiters of one version. */
interface Group {
  key: string;
  target: DeployTarget;
  instances: Instance[];
  starting: number;
  queue: WaitQueue<Lease>;
  /** Consecutive failed starts: hot versions that keep failing back off instead of looping. */
  failures: number;
  retry: NodeJS.Timeout | undefined;
}

/**
 * The instance pool: starts instances on demand, spreads calls over them up to each one's
 * concurrency, queues beyond `maxInstances`, sheds load past the queue bound, stops idle instances
 * (scale to zero), keeps `minInstances` hot and replaces crashed ones. Drivers and runtimes arrive
 * as arguments, so it knows neither.
 */
export class Scheduler implements InstancePool {
  private readonly groups = new Map<string, Group>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly resolver: TargetResolver;
  private closing = false;

  constructor(private readonly opts: SchedulerOptions) {
    this.resolver = new TargetResolver(opts.runtimes, opts.packages);
    this.sweeper = setInterval(() => this.sweep(), opts.sweepIntervalMs ?? 200);
    this.sweeper.unref();
  }

  leaseNow(target: DeployTarget): Lease | undefined {
    if (this.closing) return undefined;
    const group = this.group(target);
    const inst = this.pick(group);
    return inst ? this.lease(group, inst) : undefined;
  }

  acquire(target: DeployTarget, signal: CallSignal, opts?: AcquireOptions): Promise<Lease> {
    if (this.closing) return Promise.reject(new FerryError('shutting-down'));
    const group = this.group(target);
    const inst = this.pick(group);
    if (inst) return Promise.resolve(this.lease(group, inst));
    const { maxInstances, maxQueue, concurrency, onDemand } = group.target.config.scaling;
    // A version that runs only while deployed: nothing starts for a call, none waits for nothing.
    if (onDemand === false && this.live(group) === 0) {
      return Promise.reject(new FerryError('not-running', `${target.function}@${target.version} is not running: it starts when it is deployed, not on a request (scaling.onDemand: false)`));
    }
    // Start another instance only when those already starting cannot absorb the waiting calls.
    if (onDemand !== false && this.live(group) < maxInstances && group.starting * concurrency <= group.queue.length) void this.start(group);
    else if (!opts?.background && group.queue.foreground >= maxQueue) {
      return Promise.reject(new FerryError('queue-full', `all ${maxInstances} instance(s) of ${target.function}@${target.version} are busy and ${maxQueue} call(s) already wait`, { headers: { 'retry-after': '1' } }));
    }
    const p = group.queue.enqueue(signal, opts?.background);
    this.opts.observer.queueDepth(target.function, target.version, group.queue.length);
    return p;
  }

  async deploy(target: DeployTarget, atLeastOne: boolean): Promise<void> {
    const group = this.group(target);
    const want = Math.max(target.config.scaling.minInstances, atLeastOne ? 1 : 0);
    const starts: Promise<Instance | undefined>[] = [];
    // start() counts itself as starting synchronously, so live() already includes it.
    while (this.live(group) < want) starts.push(this.start(group));
    const started = await Promise.all(starts);
    if (starts.length && !started.some(Boolean) && this.readyCount(group) === 0) {
      throw new FerryError('instance-start-failed', `no instance of ${target.function}@${target.version} could start; see its logs`);
    }
  }

  expect(target: Pick<DeployTarget, 'runtime' | 'config'>): void {
    this.opts.prestart?.expect(target);
  }

  async roll(target: DeployTarget): Promise<void> {
    const group = this.groups.get(keyOf(target));
    if (!group) return;
    const old = group.instances.filter((i) => i.target.revision !== target.revision);
    group.target = target;
    if (old.length === 0) return;
    // Start the replacements first, so calls never wait on a cold start, then drain the old ones.
    const want = Math.max(target.config.scaling.minInstances, old.filter((i) => i.state !== 'draining').length);
    await Promise.all(Array.from({ length: Math.min(want, target.config.scaling.maxInstances) }, () => this.start(group)));
    for (const inst of old) this.drain(group, inst);
  }

  async stop(fn: string, version?: string): Promise<void> {
    const stops: Promise<void>[] = [];
    for (const group of [...this.groups.values()]) {
      if (group.target.function !== fn || (version !== undefined && group.target.version !== version)) continue;
      this.groups.delete(group.key);
      this.resolver.forget(group.target.function, group.target.version);
      clearTimeout(group.retry);
      group.queue.rejectAll(new FerryError('instance-crashed', 'the version was stopped'));
      for (const inst of [...group.instances]) stops.push(this.kill(group, inst, 'stopped by request'));
    }
    await Promise.all(stops);
  }

  list(fn?: string): InstanceInfo[] {
    const out: InstanceInfo[] = [];
    for (const g of this.groups.values()) {
      if (fn !== undefined && g.target.function !== fn) continue;
      for (const i of g.instances) out.push(i.info());
    }
    return out;
  }

  async memoryOf(instanceId: string): Promise<number | undefined> {
    for (const g of this.groups.values()) for (const i of g.instances) if (i.id === instanceId) return i.proc?.memoryBytes?.();
    return undefined;
  }

  poolStatus(): PoolStatus {
    return this.opts.prestart?.status() ?? { enabled: false, reason: this.opts.prestartOff ?? 'off', size: 0, runtimes: [] };
  }

  async shutdown(graceMs: number): Promise<void> {
    this.closing = true;
    clearInterval(this.sweeper);
    const stops: Promise<void>[] = [this.opts.prestart?.shutdown(graceMs) ?? Promise.resolve()];
    for (const group of this.groups.values()) {
      clearTimeout(group.retry);
      group.queue.rejectAll(new FerryError('shutting-down'));
      for (const inst of [...group.instances]) stops.push(this.kill(group, inst, 'server shutting down', graceMs));
    }
    this.groups.clear();
    await Promise.all(stops);
  }

  private group(target: DeployTarget): Group {
    const key = keyOf(target);
    let g = this.groups.get(key);
    if (!g) {
      g = { key, target, instances: [], starting: 0, queue: new WaitQueue<Lease>(), failures: 0, retry: undefined };
      this.groups.set(key, g);
    } else if (g.target.revision !== target.revision && g.target !== target) {
      // A new revision arrived without a roll (e.g. the old one was idle): new instances use it.
      g.target = target;
    }
    return g;
  }

  /** The least-loaded instance with room, preferring the current revision. */
  private pick(group: Group): Instance | undefined {
    let best: Instance | undefined;
    const rev = group.target.revision;
    for (const inst of group.instances) {
      if (!inst.hasCapacity()) continue;
      if (!best || (inst.target.revision === rev && best.target.revision !== rev) || (inst.target.revision === best.target.revision && inst.inFlight < best.inFlight)) best = inst;
    }
    return best;
  }

  private lease(group: Group, inst: Instance): Lease {
    inst.inFlight++;
    let released = false;
    return {
      instanceId: inst.id,
      connector: inst.connector!,
      exitReason: () => exitReasonOf(inst),
      release: (opts) => {
        if (released) return;
        released = true;
        inst.inFlight--;
        inst.served++;
        if (opts?.recycle && inst.state === 'ready') {
          this.opts.observer.event(inst.info(), 'warn', 'recycled after a call timed out');
          this.drain(group, inst);
          return;
        }
        if (inst.target.config.scaling.mode === 'cold') {
          // Cold mode: the sandbox that served this call serves no other.
          this.drain(group, inst);
          return;
        }
        if (inst.state === 'draining') {
          if (inst.inFlight === 0) void this.kill(group, inst, 'drained');
          return;
        }
        if (inst.inFlight === 0) inst.idleSince = Date.now();
        this.serveWaiters(group, inst);
      },
    };
  }

  private serveWaiters(group: Group, inst: Instance): void {
    // The common case on the warm path: nobody waits, nothing to report.
    if (group.queue.length === 0) return;
    while (group.queue.length > 0 && inst.hasCapacity()) {
      group.queue.shift()!.resolve(this.lease(group, inst));
    }
    this.opts.observer.queueDepth(group.target.function, group.target.version, group.queue.length);
  }

  /** Instances that are running or starting, excluding ones on their way out. */
  private live(group: Group): number {
    let n = group.starting;
    for (const i of group.instances) if (i.state === 'ready') n++;
    return n;
  }

  private readyCount(group: Group): number {
    return group.instances.filter((i) => i.state === 'ready').length;
  }

  private async start(group: Group): Promise<Instance | undefined> {
    // Counted at once, however it starts: deploy() and acquire() rely on it.
    group.starting++;
    try {
      const target = group.target;
      let local: ResolvedTarget;
      try {
        const resolved = this.resolver.resolve(target);
        local = resolved instanceof Promise ? await resolved : resolved;
      } catch (err) {
        this.unresolved(group, target, err);
        return undefined;
      }
      const pooled = this.opts.prestart?.take(target);
      const inst = pooled ? await this.launch(group, target, local, pooled) : 'cold';
      return inst === 'cold' ? ((await this.launch(group, target, local, undefined)) as Instance | undefined) : inst;
    } finally {
      group.starting--;
    }
  }

  /**
   * Starts an instance: spawned for the version, or a pooled sandbox given the version (its
   * package and limits, then a LOAD). A pooled sandbox the driver cannot hand the version to is
   * stopped and answered 'cold': the caller starts one cold instead.
   */
  private async launch(group: Group, target: DeployTarget, local: ResolvedTarget, pooled: PooledInstance | undefined): Promise<Instance | undefined | 'cold'> {
    const driver = this.opts.driver;
    const id = pooled?.id ?? shortId();
    const runDir = pooled?.runDir ?? join(this.opts.runRoot, id);
    const inst = new Instance(id, target, runDir, Date.now(), pooled ? 'pool' : 'cold');
    const began = performance.now();
    const startAbort = new AbortController();
    const timer = setTimeout(() => startAbort.abort(new FerryError('instance-start-failed', `the instance did not become ready within ${this.startTimeoutMs()} ms`)), this.startTimeoutMs());
    try {
      // Owned from here: a pooled sandbox is stopped by the failure path below, never leaked.
      if (pooled) [inst.proc, inst.connector] = [pooled.proc, pooled.connector];
      const root = sandboxRootOf(target.config);
      const view = driver.view({ packageDir: local.packageDir, runDir, root, sandbox: target.config.sandbox });
      if (!pooled) await makeRunDir(driver, runDir);
      const prep = await this.opts.hooks?.prepare(target, { id, view });
      const env: Record<string, string> = { ...target.config.env, ...prep?.env, FERRY_FUNCTION: target.function, FERRY_VERSION: target.version, FERRY_INSTANCE: id };
      const port = target.config.runtime === 'http' ? await freePort() : 0;
      const ctx = { instanceId: id, view, packageDir: local.packageDir, config: target.config, env, port, networkIsolated: driver.isolated && target.config.sandbox.network !== 'host' };
      let plan: LaunchPlan | undefined;
      let handedOff: Promise<void> | undefined;
      if (pooled) {
        // Asked for first: the driver's mounts proceed while the rest is set up here.
        handedOff = handOff(driver, target, local, pooled, ctx, prep?.onInstanceStream, startAbort.signal);
        handedOff.catch(() => {}); // awaited below
      } else {
        plan = local.runtime.launch(ctx);
        inst.proc = await driver.spawn(coldSpec({ id, runDir, packageDir: local.packageDir, root, target, onInstanceStream: prep?.onInstanceStream }, plan));
      }
      const proc = inst.proc!;
      group.instances.push(inst);
      // Not awaited: the exit listener below must be in place at once. (The pool recorded its own.)
      if (!pooled) recordWhileRunning(this.opts.pidDir, id, proc.child);
      const info = inst.info();
      if (proc.child.stdout) this.opts.observer.output(info, 'stdout', proc.child.stdout);
      if (proc.child.stderr) this.opts.observer.output(info, 'stderr', proc.child.stderr);
      // The driver's own lines (e.g. a refused syscall) go to the function's logs too.
      proc.onNotice?.((line) => this.opts.observer.event(inst.info(), 'warn', line));
      proc.child.once('exit', (code, sig) => {
        startAbort.abort(new FerryError('instance-start-failed', `the instance exited during start (${sig ?? `exit code ${code}`}); see the function's logs`));
        this.onExit(group, inst, code, sig);
      });
      proc.child.once('error', (err) => startAbort.abort(new FerryError('instance-start-failed', `cannot start the instance: ${err.message}`)));
      if (handedOff) await handedOff;
      else {
        inst.connector = local.runtime.connect(linkOf(proc, plan!));
        await inst.connector.ready(startAbort.signal);
      }
      if (inst.state !== 'starting') throw new FerryError('instance-start-failed', 'the instance stopped while starting');
      // Its version was stopped (deleted) or the server began to stop while it started: no one
      // would ever stop it from a group no longer kept, so it goes now (the failure path kills it).
      if (this.closing || this.groups.get(group.key) !== group) throw new FerryError('instance-start-failed', 'the version was stopped while the instance started');
      inst.state = 'ready';
      inst.idleSince = Date.now();
      group.failures = 0;
      const ms = performance.now() - began;
      this.serveWaiters(group, inst);
      // Reported once the waiting calls went out (two turns: their frames are written in one).
      setImmediate(() => setImmediate(() => {
        this.opts.observer.coldStart(target, ms);
        this.opts.observer.event(inst.info(), 'info', `instance ready in ${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms${pooled ? ' (from the pre-booted pool)' : ''}`);
        this.opts.observer.instances(target.function, target.version, this.readyCount(group));
      }));
      return inst;
    } catch (err) {
      const fe = FerryError.from(err);
      this.opts.hooks?.release(id);
      if (err instanceof HandOffError) {
        this.opts.observer.event(inst.info(), 'warn', `the pre-booted sandbox could not take this version (${fe.message}); starting a new instance`);
        void this.kill(group, inst, 'hand-off failed');
        return 'cold';
      }
      this.startFailed(group, inst.info(), fe);
      void this.kill(group, inst, 'failed to start');
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  /** No instance can start: the target's runtime or package could not be had on this host. */
  private unresolved(group: Group, target: DeployTarget, err: unknown): void {
    const fe = FerryError.from(err);
    const info = new Instance(shortId(), target, '', Date.now(), 'cold').info();
    this.startFailed(group, info, new FerryError('instance-start-failed', `its package could not be made ready on this host: ${fe.message}`, { cause: err }));
  }

  private startFailed(group: Group, info: InstanceInfo, fe: FerryError): void {
    group.failures++;
    this.opts.observer.event(info, 'error', fe.message);
    // Waiters cannot be served by this instance; if nothing else can serve them, fail them.
    if (this.live(group) - 1 <= 0) group.queue.rejectAll(new FerryError('instance-start-failed', fe.message));
  }

  private onExit(group: Group, inst: Instance, code: number | null, sig: NodeJS.Signals | null): void {
    const wasServing = inst.state === 'ready' || inst.state === 'draining';
    const expected = inst.stopping !== undefined;
    inst.connector?.close();
    this.remove(group, inst);
    if (!expected && wasServing) {
      void describeExitOf(inst.proc, code, sig).then((why) => this.opts.observer.event(inst.info(), 'error', `instance exited unexpectedly (${why})`));
      void inst.proc?.exitReason?.().then((why) => {
        if (why === 'oom') this.opts.observer.event(inst.info(), 'error', `instance killed: it used more than limits.memoryMb (${inst.target.config.limits.memoryMb} MB)`);
      });
      // remove() kept the version hot; calls still waiting need an instance too.
      if (!this.closing && this.groups.get(group.key) === group && group.queue.length > 0 && this.live(group) === 0) void this.start(group);
    }
  }

  /** No new calls; stop once the in-flight ones end. */
  private drain(group: Group, inst: Instance): void {
    if (inst.state === 'draining') return;
    inst.state = 'draining';
    this.opts.observer.instances(group.target.function, group.target.version, this.readyCount(group));
    if (inst.inFlight === 0) void this.kill(group, inst, 'drained');
  }

  private kill(group: Group, inst: Instance, why: string, graceMs = this.opts.stopGraceMs ?? 5000): Promise<void> {
    if (inst.stopping) return inst.stopping;
    inst.state = 'draining';
    this.opts.observer.event(inst.info(), 'info', `stopping: ${why}`);
    inst.stopping = (async () => {
      inst.connector?.close();
      await inst.proc?.stop(graceMs);
      this.remove(group, inst);
      await removeRunDir(this.opts.driver, inst.runDir).catch((err: unknown) => this.opts.observer.event(inst.info(), 'warn', `its run dir was not removed: ${FerryError.from(err).message}`));
    })();
    return inst.stopping;
  }

  private remove(group: Group, inst: Instance): void {
    const i = group.instances.indexOf(inst);
    if (i < 0) return;
    group.instances.splice(i, 1);
    this.opts.hooks?.release(inst.id);
    this.opts.observer.instances(group.target.function, group.target.version, this.readyCount(group));
    this.keepHot(group);
  }

  /** A version with `minInstances` gets replacements for instances that left (recycled, crashed). */
  private keepHot(group: Group): void {
    if (this.closing || this.groups.get(group.key) !== group || group.retry) return;
    if (this.live(group) >= group.target.config.scaling.minInstances) return;
    if (group.failures > 0) {
      const delay = Math.min(30_000, 250 * 2 ** Math.min(group.failures - 1, 7));
      group.retry = setTimeout(() => {
        group.retry = undefined;
        this.keepHot(group);
      }, delay);
      group.retry.unref();
      return;
    }
    while (this.live(group) < group.target.config.scaling.minInstances) void this.start(group);
  }

  /** Scale to zero: stop instances idle past their timeout, keeping `minInstances`. */
  private sweep(): void {
    const now = Date.now();
    for (const group of this.groups.values()) {
      const { idleTimeoutMs, minInstances } = group.target.config.scaling;
      let keep = this.readyCount(group);
      for (const inst of [...group.instances]) {
        if (keep <= minInstances) break;
        if (inst.state === 'ready' && inst.inFlight === 0 && now - inst.idleSince >= idleTimeoutMs) {
          keep--;
          void this.kill(group, inst, `idle for ${idleTimeoutMs} ms`);
        }
      }
      if (group.instances.length === 0 && group.starting === 0 && group.queue.length === 0 && minInstances === 0) this.groups.delete(group.key);
    }
  }

  private startTimeoutMs(): number {
    return this.opts.startTimeoutMs ?? 30_000;
  }
}

function keyOf(t: { function: string; version: string }): string {
  return `${t.function}@${t.version}`;
}
