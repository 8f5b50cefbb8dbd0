import { join } from 'node:path';
import { awaitSandboxExit, sandboxRootOf, CHECK_OUTPUT_MAX, cleanCheckText, parseCheckReport, type CheckReport, type EffectiveConfig, type Runtime, type SandboxDriver, type SandboxSettings } from '../core/index.js';
import { FerryError } from '../errors/index.js';
import { shortId } from '../util/ids.js';
import { Turns } from '../util/turns.js';
import { describeExitOf } from './exits.js';
import { makeRunDir, removeRunDir } from './run-dir.js';

export interface VersionCheckerOptions {
  driver: SandboxDriver;
  /** Checks get `<runRoot>/<check id>/` as their run dir, as instances do. */
  runRoot: string;
  /** Longest a check may take, start to report (the instances' start timeout). */
  timeoutMs?: number;
}

/** What a version is checked as: its package on the host and its effective configuration. */
export interface CheckTarget {
  function: string;
  version: string;
  packageDir: string;
  config: EffectiveConfig;
  /** The version's build log. */
  log?(line: string): void;
}

/** The most of stderr kept, for a check that ends without a report. */
const STDERR_TAIL = 2048;

/**
 * Runs a runtime's deploy-time check of a version in a sandbox of the server's driver, with the
 * version's limits and sandbox settings, never in the server process. Resolves with the report,
 * or with a failure saying why there is none (timeout, a crash, a kill).
 */
export class VersionChecker {
  /** Checks at once: many uploads at once wait their turn instead of starting as many sandboxes. */
  private readonly turns = new Turns(2);

  constructor(private readonly o: VersionCheckerOptions) {}

  /** Undefined when the runtime has no check. */
  check(runtime: Runtime, t: CheckTarget): Promise<CheckReport | undefined> {
    if (!runtime.check) return Promise.resolve(undefined);
    return this.turns.run(() => this.run(runtime, t));
  }

  private async run(runtime: Runtime, t: CheckTarget): Promise<CheckReport | undefined> {
    if (!runtime.check) return undefined;
    const { driver } = this.o;
    const id = `check-${shortId()}`;
    const runDir = join(this.o.runRoot, id);
    await makeRunDir(driver, runDir);
    try {
      const root = sandboxRootOf(t.config);
      const sandbox = await this.checkSandbox(runtime, t.config.sandbox);
      if (sandbox !== t.config.sandbox) t.log?.(`check: in the default tier (${driver.name}), not '${t.config.sandbox.tier}': it runs none of the function's code`);
      const view = driver.view({ packageDir: t.packageDir, runDir, root, sandbox });
      const env = { ...t.config.env, FERRY_FUNCTION: t.function, FERRY_VERSION: t.version };
      let plan;
      try {
        plan = runtime.check({ view, packageDir: t.packageDir, config: t.config, env });
      } catch (err) {
        const fe = FerryError.from(err);
        if (fe.code !== 'instance-start-failed') throw err;
        return { ok: false, message: fe.message };
      }
      const proc = await driver.spawn({ instanceId: id, argv: plan.argv, env: plan.env, packageDir: t.packageDir, runDir, cwd: plan.cwd, root, ...(plan.user && { user: plan.user }), limits: t.config.limits, sandbox, rootfs: plan.rootfs, runtime: t.config.runtime });
      const stdout = tail(proc.child.stdout, CHECK_OUTPUT_MAX);
      const stderr = tail(proc.child.stderr, STDERR_TAIL);
      const timeoutMs = this.o.timeoutMs ?? 30_000;
      const { code, signal: sig, timedOut } = await awaitSandboxExit(proc, timeoutMs, 0);
      const report = parseCheckReport(await stdout.text(), view.packageDir);
      if (report) return withoutSandboxPaths(report, view.packageDir);
      if (timedOut) return { ok: false, message: `the handler did not load within ${timeoutMs} ms` };
      const oom = (await proc.exitReason?.().catch(() => undefined)) === 'oom';
      const why = oom ? `it used more than limits.memoryMb (${t.config.limits.memoryMb} MB)` : await describeExitOf(proc, code, sig);
      const said = cleanCheckText((await stderr.text()).trim().split('\n').slice(-5).join('\n'));
      return { ok: false, message: `the check ended without a report (${why})${said ? `: ${said}` : ''}` };
    } finally {
      await removeRunDir(driver, runDir).catch(() => {});
    }
  }

  /**
   * Where a check runs. One that runs none of the function's code (it only looks at the tree:
   * exec, http) goes to the default tier when that tier takes the version's settings: every tier
   * gives the same answer, and a strong tier's start (an emulated microVM's boot: seconds) would
   * buy nothing, nor use up the tier's pooled VM the first call wants. A check that loads the
   * handler runs the function's code: in the version's own tier, never a weaker one.
   */
  private async checkSandbox(runtime: Runtime, sandbox: SandboxSettings): Promise<SandboxSettings> {
    if (!runtime.checkRunsNoCode || sandbox.tier === undefined) return sandbox;
    const { tier: _tier, ...inDefault } = sandbox;
    try {
      await this.o.driver.validate?.(inDefault);
      return inDefault;
    } catch {
      return sandbox;
    }
  }
}

/** The package's path inside the sandbox means nothing to the deployer: paths are made relative. */
function withoutSandboxPaths(r: CheckReport, packageDir: string): CheckReport {
  // An image's package is `/`: its paths are the image's own, and mean something as they are.
  if (r.ok || packageDir === '/') return r;
  const root = packageDir.endsWith('/') ? packageDir : `${packageDir}/`;
  return { ...r, message: r.message.split(`file://${root}`).join('').split(root).join('') };
}

/** Collects the last `max` bytes a stream gives (the rest is read and dropped). */
function tail(stream: NodeJS.ReadableStream | null, max: number): { text(): Promise<string> } {
  const chunks: Buffer[] = [];
  let size = 0;
  const done = new Promise<void>((resolve) => {
    if (!stream) return resolve();
    stream.on('data', (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      while (size - chunks[0]!.length >= max) size -= chunks.shift()!.length;
    });
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
  return {
    async text() {
      // A process the sandbox left holding the pipe must not hold the deploy.
      await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
      const all = Buffer.concat(chunks);
      return all.subarray(Math.max(0, all.length - max)).toString('utf8');
    },
  };
}
