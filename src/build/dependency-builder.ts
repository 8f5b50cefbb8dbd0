import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildContext, SandboxDriver } from '../core/index.js';
import { FerryError } from '../errors/index.js';
import { BuildCache } from './build-cache.js';
import { buildRoot, buildWorkRoot } from './paths.js';
import { overDiskCap, runBuild } from './build-sandbox.js';
import { npmPlan, type NodeToolchain } from './npm-plan.js';
import { checkOutputTree, copyTree } from './output-tree.js';
import { pipPlan, type PythonToolchain } from './pip-plan.js';
import type { BuildPlan, PlanResult } from './plan.js';
import { Turns } from '../util/turns.js';
import { checkSources, type BuildSources } from './sources.js';
import { treeSize } from './tree-size.js';

/** How much of a failed build's log its 422 answer carries (the end, where the error is). */
export const LOG_TAIL_BYTES = 4096;

/** Builds at once; more wait their turn (each may use `buildLimits`). */
const MAX_CONCURRENT_BUILDS = 2;

export interface DependencyBuilderOptions {
  driver: SandboxDriver;
  dataDir: string;
  sources: BuildSources;
  /** `--build-timeout`. */
  timeoutMs: number;
  /** `--build-max-bytes`: most a build's work dir, and its output, may hold. */
  maxBytes: number;
  /** `--build-cache-max-bytes`: past it, the least recently used cached builds are removed. */
  cacheMaxBytes: number;
  /** `--allow-host-network`: needed for a source on the host's loopback. */
  allowHostNetwork: boolean;
  node: NodeToolchain;
  /** The python runtime's interpreter, resolved when a build first needs it. */
  python(): PythonToolchain;
}

/** The last `bytes` of a log, cut at a line start. */
export function logTail(log: string, bytes = LOG_TAIL_BYTES): string {
  if (Buffer.byteLength(log) <= bytes) return log;
  const tail = Buffer.from(log).subarray(-bytes).toString('utf8');
  const nl = tail.indexOf('\n');
  return nl >= 0 ? tail.slice(nl + 1) : tail;
}

/** The build's network for its log: the policy, and the sources relayed to it. */
function describeNetwork(plan: BuildPlan): string {
  const relayed = plan.relays.map((r) => `${r.target.host.includes(':') ? `[${r.target.host}]` : r.target.host}:${r.target.port}`);
  return relayed.length ? `${plan.network}, and through the server only ${relayed.join(', ')}` : plan.network;
}

/**
 * Installs a version's dependencies at deploy (package.json for node, requirements.txt for
 * python) in a build sandbox, into the package, before it is content-addressed. Results are
 * cached by what they depend on, so the same lock file builds once. A failed build throws
 * `build-failed` with the log's tail; the caller then stores nothing.
 */
export class DependencyBuilder {
  private readonly cache: BuildCache;
  private readonly workRoot: string;
  private readonly turns = new Turns(MAX_CONCURRENT_BUILDS);

  private readonly sources: BuildSources;

  constructor(private readonly o: DependencyBuilderOptions) {
    checkSources(o.sources, o.allowHostNetwork);
    // Without isolation a build has the host's network already: there is nothing to relay through.
    this.sources = o.driver.isolated ? o.sources : { ...o.sources, privateSources: false };
    this.cache = new BuildCache(join(buildRoot(o.dataDir), 'cache'), o.cacheMaxBytes);
    this.workRoot = buildWorkRoot(o.dataDir);
  }

  /** Removes work dirs a killed server left behind. */
  async cleanup(): Promise<void> {
    await rm(this.workRoot, { recursive: true, force: true });
  }

  private plan(ctx: BuildContext): PlanResult | undefined {
    if (ctx.manifest.runtime === 'node') return npmPlan(ctx.dir, this.o.node, this.sources);
    if (ctx.manifest.runtime === 'python') return pipPlan(ctx.dir, () => this.o.python(), this.sources);
    return undefined;
  }

  /** The build step of a deploy: the package at `ctx.dir` gets its dependencies, or the deploy fails. */
  async build(ctx: BuildContext): Promise<void> {
    const planned = this.plan(ctx);
    if (!planned) return;
    if ('skip' in planned) return ctx.log(planned.skip);
    const { plan } = planned;
    const key = BuildCache.key(plan.key);
    if (await this.cache.reuse(key, join(ctx.dir, plan.output))) {
      ctx.log(`dependencies: reused the cached build ${key.slice(0, 12)} (${plan.title}); no install ran`);
      return;
    }
    await this.turns.run(() => this.install(ctx, plan, key));
  }

  /** One install in a build sandbox, its result cached and copied into the package. */
  private async install(ctx: BuildContext, plan: BuildPlan, key: string): Promise<void> {
    const lines: string[] = [];
    const log = (line: string): void => {
      lines.push(line);
      ctx.log(line);
    };
    let work: string | undefined;
    try {
      // The work dir must be reachable by the sandbox user, as the run dirs are.
      await mkdir(buildRoot(this.o.dataDir), { recursive: true, mode: 0o711 });
      await mkdir(this.workRoot, { recursive: true, mode: 0o711 });
      work = await mkdtemp(join(this.workRoot, 'b-'));
      await copyTree(ctx.dir, join(work, 'pkg'));
      log(`dependencies: ${plan.title} (network: ${describeNetwork(plan)}) in a build sandbox`);
      const run = await runBuild(this.o.driver, work, plan, { timeoutMs: this.o.timeoutMs, maxBytes: this.o.maxBytes }, this.o.node.executable, log);
      if (!run.ok) {
        const hint = plan.explain?.(lines.join('\n'));
        if (hint) log(`dependencies: ${hint}`);
        log(`dependencies: ${run.reason}`);
        throw new FerryError('build-failed', `${run.reason}${hint ? `; ${hint}` : ''}`, { extras: { log: logTail(lines.join('\n')) } });
      }
      const out = join(work, 'pkg', plan.output);
      await checkOutputTree(out, plan.output).catch((err: FerryError) => {
        throw new FerryError('build-failed', err.message, { extras: { log: logTail([...lines, err.message].join('\n')) } });
      });
      // The watch samples; a build that wrote fast and ended between two looks is caught here.
      if ((await treeSize(out, this.o.maxBytes)) > this.o.maxBytes) {
        const reason = overDiskCap(this.o.maxBytes);
        log(`dependencies: ${reason}`);
        throw new FerryError('build-failed', reason, { extras: { log: logTail(lines.join('\n')) } });
      }
      await this.cache.put(key, out);
      await copyTree(out, join(ctx.dir, plan.output));
      log(`dependencies: installed into ${plan.output}/ (cached as ${key.slice(0, 12)})`);
    } finally {
      if (work) await rm(work, { recursive: true, force: true }).catch(() => {});
    }
  }
}
