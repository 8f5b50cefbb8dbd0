import type { SandboxProcess } from '../core/index.js';
import type { Instance } from './instance.js';

/** A sandbox reports its program's death by signal N as status 128+N; SIGSYS is the seccomp filter's kill. */
export function killedBySeccomp(code: number | null, sig: NodeJS.Signals | null): boolean {
  return sig === 'SIGSYS' || code === 128 + 31;
}

/** An exit status in words; `syscall` (`ptrace (101)`) names what the seccomp filter killed it for. */
export function describeExit(code: number | null, sig: NodeJS.Signals | null, syscall?: string): string {
  if (killedBySeccomp(code, sig)) {
    return `killed by the seccomp filter (SIGSYS): it ${syscall ? `called ${syscall}, a system call` : 'made a system call'} its policy refuses`;
  }
  if (sig) return `signal ${sig}`;
  if (code !== null && code > 128 && code < 160) return `exit code ${code}, i.e. signal ${code - 128}`;
  return `exit code ${code}`;
}

/** describeExit, naming the syscall of a seccomp kill once the driver saw its record (it may follow the exit). */
export async function describeExitOf(proc: SandboxProcess | undefined, code: number | null, sig: NodeJS.Signals | null): Promise<string> {
  const syscall = killedBySeccomp(code, sig) ? await proc?.seccompKill?.().catch(() => undefined) : undefined;
  return describeExit(code, sig, syscall);
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
