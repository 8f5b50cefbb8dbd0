import { randomUUID } from 'node:crypto';
import { chown, lchown, mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { awaitSandboxExit, type Limits, type SandboxDriver, type SandboxProcess, type SandboxSettings, type SandboxSpec } from '../core/index.js';
import { FerryError } from '../errors/index.js';
import type { BuildPlan, BuildView } from './plan.js';
import { startRelaySockets, type RelaySockets } from './source-relay.js';
import { treeSize } from './tree-size.js';

/**
 * What a build may use: enough for npm and pip with a native add-on or two, bounded so a build
 * cannot take the host's memory or fork without end. The time limit is `--build-timeout`.
 */
export const buildLimits: Omit<Limits, 'timeoutMs'> = { memoryMb: 1024, cpu: 1, pids: 512, tmpMb: 512 };

/** How often a running build's work dir is measured against `--build-max-bytes`. */
const DISK_CHECK_MS = 500;

/** The one line a build over `--build-max-bytes` fails with. */
export function overDiskCap(maxBytes: number): string {
  return `the build wrote more than ${maxBytes} bytes (--build-max-bytes)`;
}

/** Runs inside the sandbox in front of a build whose sources are relayed (see inside/source-relay.ts). */
const relayScript = fileURLToPath(new URL('./inside/source-relay.js', import.meta.url));

/** The plan's command, behind the inside relay when its sources are relayed (`node` runs it). */
function buildArgv(plan: BuildPlan, view: BuildView, runDir: string, sockets: RelaySockets | undefined, node: string): string[] {
  if (!sockets) return plan.argv(view);
  const listens = plan.relays.map((r, i) => ({ hosts: r.inside.hosts, port: r.inside.port, socket: posix.join(runDir, sockets.names[i]!) }));
  return [node, relayScript, JSON.stringify(listens), '--', ...plan.argv(view)];
}

/** The most log a build keeps (the version's build log); the rest is cut. */
const MAX_LOG_BYTES = 1024 * 1024;

export interface BuildRun {
  ok: boolean;
  /** Why it failed, in one line (exit status, timeout). */
  reason?: string;
}

/** Gives `dir` and everything in it to the sandbox user, so the build can write its copy. */
async function chownTree(dir: string, uid: number): Promise<void> {
  await chown(dir, uid, uid);
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await chownTree(p, uid);
    else await lchown(p, uid, uid);
  }
}

/**
 * Runs a plan in the server's sandbox driver, as an instance would run: the sandbox user, the
 * driver's namespaces, seccomp filter and cgroups, with `buildLimits` and the plan's network. The
 * work dir (`work`, holding the package's copy at `pkg/`) is the only writable host folder: it is
 * bound where an instance's run dir goes. Every line the tools print goes to `log`. The work dir
 * is measured every `DISK_CHECK_MS`; past `maxBytes` the build is stopped. The plan's relayed
 * sources are served on sockets in the work dir for as long as the build runs, with the relay
 * run by `node` inside.
 */
export async function runBuild(driver: SandboxDriver, work: string, plan: BuildPlan, limits: { timeoutMs: number; maxBytes: number }, node: string, log: (line: string) => void): Promise<BuildRun> {
  const empty = join(work, 'empty');
  await mkdir(empty);
  await mkdir(join(work, 'home'));
  // npm's user and global configuration: empty, in place of the host's.
  for (const f of ['.npmrc', 'npmrc-global']) await writeFile(join(work, 'home', f), '');
  if (driver.instanceUid !== undefined) await chownTree(work, driver.instanceUid);
  const view = driver.view({ packageDir: empty, runDir: work });
  const inside = { pkg: posix.join(view.runDir, 'pkg'), home: posix.join(view.runDir, 'home') };
  const sockets = plan.relays.length
    ? await startRelaySockets(work, plan.relays, driver.instanceUid).catch((err: Error) => {
        throw new FerryError('build-failed', `the relay to the build's sources could not start: ${err.message}`, { cause: err });
      })
    : undefined;
  try {
    return await runSandboxed(driver, work, plan, { ...limits, view, inside, node, sockets }, log);
  } finally {
    sockets?.close();
  }
}

/** The build's sandbox itself: spawned, its log collected, its disk watched, its end told. */
async function runSandboxed(
  driver: SandboxDriver,
  work: string,
  plan: BuildPlan,
  o: { timeoutMs: number; maxBytes: number; view: { runDir: string }; inside: BuildView; node: string; sockets: RelaySockets | undefined },
  log: (line: string) => void,
): Promise<BuildRun> {
  const { timeoutMs, maxBytes, inside, sockets } = o;
  const empty = join(work, 'empty');
  const sandbox: SandboxSettings = { network: plan.network, seccomp: undefined, roBinds: {}, mountProc: true, mountDev: true, mountTmp: true };
  const spec: SandboxSpec = {
    instanceId: `build-${randomUUID()}`,
    argv: buildArgv(plan, inside, o.view.runDir, sockets, o.node),
    env: plan.env(inside),
    packageDir: empty,
    runDir: work,
    cwd: inside.pkg,
    limits: { ...buildLimits, timeoutMs },
    sandbox,
    // A build's tools are the host's own (its toolchain, npm, a wheel folder): named by path.
    rootfs: (sockets ? [...plan.hostPaths, o.node, dirname(relayScript)] : plan.hostPaths).map((path) => ({ kind: 'host-path', path })),
    runtime: plan.runtime,
  };
  let proc: SandboxProcess;
  try {
    proc = await driver.spawn(spec);
  } catch (err) {
    // Said as what it is to the uploader: the build, not an instance, could not start.
    throw new FerryError('build-failed', `the build sandbox could not start: ${(err as Error).message}`, { cause: err });
  }
  let bytes = 0;
  const collect = (stream: NodeJS.ReadableStream | null): void => {
    let rest = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop()!;
      for (const line of lines) {
        bytes += line.length + 1;
        if (bytes <= MAX_LOG_BYTES) log(line);
      }
    });
    stream?.on('end', () => rest && log(rest));
  };
  collect(proc.child.stdout);
  collect(proc.child.stderr);
  const disk = watchDisk(work, maxBytes, () => void proc.stop(2000));
  const { code, signal, timedOut } = await awaitSandboxExit(proc, timeoutMs, 2000, 'close').finally(() => disk.stop());
  if (bytes > MAX_LOG_BYTES) log(`(log cut: ${bytes - MAX_LOG_BYTES} more bytes)`);
  if (disk.over()) return { ok: false, reason: overDiskCap(maxBytes) };
  if (timedOut) return { ok: false, reason: `the build took longer than --build-timeout (${Math.round(timeoutMs / 1000)}s) and was stopped` };
  if ((await proc.exitReason?.()) === 'oom') return { ok: false, reason: `the build went over its memory limit (${buildLimits.memoryMb} MB)` };
  if (code !== 0) return { ok: false, reason: `${plan.title} ended with ${signal ? `signal ${signal}` : `exit status ${code}`}` };
  return { ok: true };
}

/** Measures `work` every `DISK_CHECK_MS` (one walk at a time) and calls `onOver` once it passes `maxBytes`. */
function watchDisk(work: string, maxBytes: number, onOver: () => void): { stop(): void; over(): boolean } {
  let over = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const check = async (): Promise<void> => {
    const size = await treeSize(work, maxBytes);
    if (stopped) return;
    if (size > maxBytes) {
      over = true;
      return onOver();
    }
    timer = setTimeout(() => void check(), DISK_CHECK_MS);
  };
  timer = setTimeout(() => void check(), DISK_CHECK_MS);
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
    over: () => over,
  };
}
