import { spawn } from 'node:child_process';
import { FerryError } from '../../errors/index.js';
import type { SandboxDriver, SandboxProcess, SandboxSpec, SandboxView } from '../../core/index.js';
import { processTreeMemory } from '../host/process-memory.js';
import { RunDirChannel, runDirAddresses } from '../socket-channel/index.js';
import { hostRootfsView } from '../rootfs/index.js';

/** The host variables an instance keeps: enough to find programs and decode text, nothing else. */
function baseEnv(runDir: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    LANG: process.env.LANG ?? 'C.UTF-8',
    HOME: runDir,
  };
}

/** Signals the child's whole process group; a group that is already gone is not an error. */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/**
 * The development driver: instances are plain child processes of the server, in their own
 * process group (so stop() reaches everything they started) with a scrubbed environment, and no
 * isolation at all. Every other driver is `isolated`.
 */
export const processDriver: Omit<SandboxDriver, 'spawn'> & { spawn(spec: SandboxSpec): Promise<SandboxProcess> } = {
  name: 'process',
  isolated: false,

  /** Nothing is remapped: the instance sees the host paths, every need where it is on the host. */
  view(spec: Pick<SandboxSpec, 'packageDir' | 'runDir'>): SandboxView {
    return { packageDir: spec.packageDir, runDir: spec.runDir, channel: runDirAddresses(spec.runDir), rootfs: hostRootfsView };
  },

  async spawn(spec: SandboxSpec): Promise<SandboxProcess> {
    // An image's root file system cannot become `/` of a plain process: refused, never run
    // against the host's files instead.
    if (spec.root === 'package') throw new FerryError('invalid-manifest', 'container image versions need the bwrap driver: the process driver cannot give an instance a root file system of its own');
    const [program, ...args] = spec.argv;
    if (!program) throw new Error('spawn: empty argv');
    // Plain processes share the host's network: an HTTP server's port is reachable as it is.
    const channel = new RunDirChannel({ runDir: spec.runDir, protocol: spec.channel, owner: undefined, hostNetwork: true });
    if (spec.onInstanceStream) await channel.serve(spec.onInstanceStream);
    const child = spawn(program, args, {
      cwd: spec.cwd,
      // The server's own environment (tokens, database paths) must not leak into functions.
      env: { ...baseEnv(spec.runDir), ...spec.env },
      detached: true,
      stdio: [spec.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', ...(spec.extraStdio ?? [])],
    });
    // A spawn failure (ENOENT...) is an 'error' event; without a listener it would throw in the
    // server. The owner sees it as the 'exit'/'close' that follows, or through its own listener.
    child.on('error', () => {});
    let exited = child.exitCode !== null || child.signalCode !== null;
    const exit = new Promise<void>((resolve) => {
      if (exited) return resolve();
      child.once('exit', () => {
        exited = true;
        channel.close();
        // The leader is gone; anything it left behind in its group goes with it.
        if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
        resolve();
      });
      // Never started (no pid): there is no exit event to wait for.
      child.once('error', () => {
        if (child.pid === undefined) {
          exited = true;
          channel.close();
          resolve();
        }
      });
    });
    let stopping: Promise<void> | undefined;
    return {
      child,
      dial: () => channel.dial(),
      ...(channel.dialPort && { dialPort: channel.dialPort }),
      stop(graceMs: number): Promise<void> {
        if (exited || child.pid === undefined) return exit;
        if (stopping) return stopping;
        const pid = child.pid;
        killGroup(pid, 'SIGTERM');
        const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
        stopping = exit.then(() => clearTimeout(timer));
        return stopping;
      },
      // No cgroup here: the resident memory of the process and everything it started.
      memoryBytes: async () => (exited || child.pid === undefined ? undefined : processTreeMemory(child.pid)),
    };
  },

  unenforced(): string[] {
    return [
      'memory limit (node instances only get --max-old-space-size; nothing bounds other processes)',
      'cpu',
      'pids',
      'filesystem isolation (instances can read and write whatever the server user can)',
      'network isolation',
    ];
  },
};
