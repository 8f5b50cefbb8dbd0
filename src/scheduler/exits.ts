import type { Instance } from './instance.js';

/**
 * An exit status in words. A sandbox reports its program's death by signal N as status 128+N;
 * SIGSYS there means the seccomp filter killed it for a refused system call.
 */
export function describeExit(code: number | null, sig: NodeJS.Signals | null): string {
  if (sig === 'SIGSYS' || code === 128 + 31) return 'killed by the seccomp filter (SIGSYS): it made a system call its policy refuses';
  if (sig) return `signal ${sig}`;
  if (code !== null && code > 128 && code < 160) return `exit code ${code}, i.e. signal ${code - 128}`;
  return `exit code ${code}`;
}

/** Why an instance died, waiting briefly for its exit to be seen (the socket closes first). */
export async function exitReasonOf(inst: Instance): Promise<'oom' | undefined> {
  const proc = inst.proc;
  if (!proc?.exitReason) return undefined;
  const exited = new Promise<void>((resolve) => {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) return resolve();
    proc.child.once('exit', () => resolve());
    setTimeout(resolve, 500).unref();
  });
  await exited;
  if (proc.child.exitCode === null && proc.child.signalCode === null) return undefined;
  return proc.exitReason();
}
