import type { SandboxProcess } from './sandbox.js';

/** How a one-off sandbox ended: its status, and whether its time ran out first. */
export interface SandboxExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
}

/**
 * Waits for a one-off sandbox (a deploy check, a build, an ad-hoc run) to end, stopping it after
 * `timeoutMs` (SIGTERM, SIGKILL after `graceMs`), then stops what it left behind. `event`:
 * `exit` for the process alone, `close` to also wait for its output to be read.
 */
export async function awaitSandboxExit(proc: SandboxProcess, timeoutMs: number, graceMs: number, event: 'exit' | 'close' = 'exit'): Promise<SandboxExit> {
  let timedOut = false;
  const ended = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    if (event === 'exit' && (proc.child.exitCode !== null || proc.child.signalCode !== null)) resolve([proc.child.exitCode, proc.child.signalCode]);
    proc.child.once(event, (code: number | null, sig: NodeJS.Signals | null) => resolve([code, sig]));
    // Never started (no pid): no exit follows.
    proc.child.once('error', () => proc.child.pid === undefined && resolve([null, null]));
  });
  const timer = setTimeout(() => {
    timedOut = true;
    void proc.stop(graceMs);
  }, timeoutMs);
  const [code, signal] = await ended.finally(() => clearTimeout(timer));
  await proc.stop(0).catch(() => {});
  return { code, signal, timedOut };
}
