import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { SandboxProcess } from '../../core/index.js';
import type { InstanceLimits } from './bwrap-driver.js';
import type { InstanceRefusals } from './seccomp-log.js';
import { processTreeMemory } from '../host/process-memory.js';
import { childExit } from '../host/child-exit.js';
import { processStartTime } from '../../util/process-start.js';
import type { RunDirChannel } from '../socket-channel/index.js';

/**
 * The host pid of the sandboxed runtime, from bwrap's --info-fd (fd 3): `{"child-pid": N}`.
 * Signals go to it directly (it is pid 1 of its namespace and handles SIGTERM to drain).
 */
export function readChildPid(child: ChildProcess): Promise<number | undefined> {
  const info = child.stdio[3] as Readable | null | undefined;
  if (!info) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    let text = '';
    info.setEncoding('utf8');
    info.on('data', (s: string) => (text += s));
    info.on('error', () => resolve(undefined));
    info.on('close', () => {
      const m = /"child-pid"\s*:\s*(\d+)/.exec(text);
      resolve(m ? Number(m[1]) : undefined);
    });
  });
}

/** The runtime's pid and its start time: the pid alone may name another process once it ended. */
interface Runtime {
  pid: number;
  started: string | undefined;
}

function signal(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, sig);
  } catch {
    /* gone already */
  }
}

/** Wraps a spawned sandbox: graceful stop, cleanup of its cgroups, its refused syscalls, and why it ended. */
export function stopSandbox(child: ChildProcess, childPid: Promise<number | undefined>, limits: InstanceLimits, channel: RunDirChannel, refusals?: InstanceRefusals): SandboxProcess {
  const { done: exit, ended } = childExit(child);
  // Once the sandbox is gone its channel closes, and its cgroups go (killing anything left inside them).
  const cleaned = exit.then(() => {
    channel.close();
    return limits.remove().catch(() => {});
  });
  // The kernel may write the last records (a kill) just after the exit was seen.
  void exit.then(() => setTimeout(() => refusals?.close(), 2000).unref());
  let stopping: Promise<void> | undefined;
  return {
    child,
    dial: () => channel.dial(),
    ...(channel.dialPort && { dialPort: channel.dialPort }),
    stop(graceMs: number): Promise<void> {
      if (ended()) return cleaned;
      if (stopping) return stopping;
      stopping = (async () => {
        const pid = await Promise.race([childPid, new Promise<undefined>((r) => setTimeout(r, 100, undefined))]);
        const runtime: Runtime | undefined = pid === undefined || ended() ? undefined : { pid, started: processStartTime(pid) };
        signal(runtime?.pid, 'SIGTERM');
        if (runtime === undefined && child.pid !== undefined) signal(-child.pid, 'SIGTERM');
        const timer = setTimeout(() => {
          // Only the same process: once it ended, the kernel may have given its pid to another.
          if (runtime?.started !== undefined && processStartTime(runtime.pid) === runtime.started) signal(runtime.pid, 'SIGKILL');
          if (child.pid !== undefined) signal(-child.pid, 'SIGKILL');
        }, graceMs);
        await exit;
        clearTimeout(timer);
        await cleaned;
      })();
      return stopping;
    },
    // The memory cgroup counts what the instance's processes charge, shared pages once; without
    // one, the resident memory of the process tree stands in.
    async memoryBytes() {
      if (ended()) return undefined;
      const charged = await limits.memoryBytes().catch(() => undefined);
      return charged ?? (child.pid === undefined ? undefined : processTreeMemory(child.pid));
    },
    async exitReason() {
      await exit;
      return (await limits.oomKilled().catch(() => false)) ? 'oom' : undefined;
    },
    ...(refusals && {
      onNotice: (listener: (line: string) => void) => refusals.onLine(listener),
      seccompKill: () => exit.then(() => refusals.killedBy(1000)),
    }),
  };
}
