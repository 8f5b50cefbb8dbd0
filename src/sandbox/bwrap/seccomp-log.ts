import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { runProgram, seccompLogPath } from './helper.js';

/**
 * Names, in a function's logs, the syscalls its seccomp filter refused. The kernel writes an
 * audit record (type 1326) for each refusal of a filter loaded with SECCOMP_FILTER_FLAG_LOG (the
 * helper's `seccomp-exec` loads the instance's lists so) and for every kill. One helper process
 * per server (`seccomp-log`) reads those records from the kernel's audit multicast group,
 * resolves each syscall number with libseccomp and prints it; this file hands it to its
 * instance: by the cgroup the process was in when it was read, else by the runtime's pid.
 */

/** One record as the helper prints it. */
export interface Refusal {
  /** Host pid of the process (its thread group). */
  pid: number;
  /** `errno` or `kill` (Ferry's filters use no other action). */
  action: string;
  nr: number;
  /** libseccomp's name for the number on the record's arch, or `unknown`. */
  name: string;
  /** The process's command name (the kernel's comm), made printable. */
  comm: string;
  /** Its cgroup paths; empty once it was gone. */
  cgroups: string[];
}

/** Parses one line of `ferry-seccomp-log`. */
export function parseRefusal(line: string): Refusal | undefined {
  const f = line.split('\t');
  if (f.length !== 6) return undefined;
  const pid = Number(f[0]);
  const nr = Number(f[2]);
  if (!Number.isSafeInteger(pid) || pid <= 0 || !Number.isSafeInteger(nr) || nr < 0) return undefined;
  return { pid, action: f[1]!, nr, name: f[3]!, comm: f[4]!, cgroups: f[5] === '-' ? [] : f[5]!.split(',') };
}

/** Lines per instance and second; past them, one line counts the rest. */
export const REFUSALS_PER_SECOND = 10;
/** Lines kept until someone listens (a pooled sandbox before its hand-off). */
const BACKLOG = 20;

/** The refusals of one instance, rate-limited into log lines. */
export class InstanceRefusals {
  /** Host pid of the instance's runtime, once bwrap reported it. */
  runtimePid: number | undefined;
  private listener: ((line: string) => void) | undefined;
  private backlog: string[] = [];
  private windowStart = 0;
  private inWindow = 0;
  private suppressed = 0;
  private timer: NodeJS.Timeout | undefined;
  private kill: string | undefined;
  private readonly killWaiters = new Set<(syscall: string | undefined) => void>();
  private closed = false;

  constructor(private readonly detach: () => void) {}

  /** Where the lines go; lines from before are handed over first. */
  onLine(listener: (line: string) => void): void {
    this.listener = listener;
    for (const line of this.backlog.splice(0)) listener(line);
  }

  /**
   * The syscall the filter killed the runtime for (`ptrace (101)`), waiting up to `waitMs` for
   * its record: the kernel may write it after the exit was seen.
   */
  killedBy(waitMs: number): Promise<string | undefined> {
    if (this.kill !== undefined || this.closed) return Promise.resolve(this.kill);
    return new Promise((resolve) => {
      const done = (syscall: string | undefined): void => {
        clearTimeout(timer);
        this.killWaiters.delete(done);
        resolve(syscall);
      };
      const timer = setTimeout(() => done(undefined), waitMs);
      this.killWaiters.add(done);
    });
  }

  add(r: Refusal): void {
    if (this.closed) return;
    const syscall = `${r.name} (${r.nr})`;
    if (r.action === 'kill') {
      // A killed child leaves the instance running; only the runtime's death is the instance's.
      const runtime = this.runtimePid === undefined || r.pid === this.runtimePid;
      if (runtime) {
        this.kill = syscall;
        for (const w of [...this.killWaiters]) w(syscall);
      }
      this.emit(runtime ? `seccomp killed the instance (${r.comm}): syscall ${syscall}` : `seccomp killed ${r.comm}, a process of the instance: syscall ${syscall}`);
    } else if (r.action === 'errno') {
      this.emit(`seccomp refused ${r.name} (syscall ${r.nr}) with EPERM in ${r.comm}`);
    }
  }

  /** Stops taking records; the summary of a full second still goes out. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of [...this.killWaiters]) w(undefined);
    this.detach();
  }

  private emit(line: string): void {
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.inWindow = 0;
    }
    if (this.inWindow < REFUSALS_PER_SECOND) {
      this.inWindow++;
      this.out(line);
      return;
    }
    this.suppressed++;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      const n = this.suppressed;
      this.suppressed = 0;
      this.out(`seccomp refused ${n} more syscall${n === 1 ? '' : 's'} in that second (more than ${REFUSALS_PER_SECOND} a second are only counted)`);
    }, this.windowStart + 1000 - now);
    this.timer.unref();
  }

  private out(line: string): void {
    if (this.listener) this.listener(line);
    else if (this.backlog.length < BACKLOG) this.backlog.push(line);
  }
}

/** Whether refused syscalls can be named on this host, and how to make them so. */
export interface SeccompLogCheck {
  ok: boolean;
  detail: string;
  fix?: string;
}

const readText = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
};

/** Checks, changing nothing, that the kernel writes the records and this process may read them. */
export async function checkSeccompLog(): Promise<SeccompLogCheck> {
  const cmdline = readText('/proc/cmdline') ?? '';
  if (/(^|\s)audit=0(\s|$)/.test(cmdline)) return { ok: false, detail: 'the kernel was booted with audit=0: it writes no seccomp records', fix: 'boot without audit=0' };
  const logged = (readText('/proc/sys/kernel/seccomp/actions_logged') ?? '').split(/\s+/).filter(Boolean);
  const missing = ['errno', 'kill_process'].filter((a) => !logged.includes(a));
  if (missing.length > 0) {
    return { ok: false, detail: `kernel.seccomp.actions_logged lacks ${missing.join(' and ')}`, fix: `sysctl -w kernel.seccomp.actions_logged="${[...logged, ...missing].join(' ')}"` };
  }
  const r = await runProgram(seccompLogPath(), ['--check']).catch((err: Error) => ({ code: -1, stderr: err.message }));
  if (r.code !== 0) {
    return { ok: false, detail: r.stderr.replace(/^ferry-seccomp-log: /, '') || 'the sandbox helper cannot read audit records', fix: 'run Ferry as root (reading the audit records needs CAP_AUDIT_READ), in the host network namespace' };
  }
  return { ok: true, detail: 'reads the kernel\'s seccomp audit records (errno and kill_process logged)' };
}

/** Starts the helper's `seccomp-log`; resolves once it reads the records, or with why not. */
function follow(onLine: (line: string) => void): Promise<{ child: ChildProcess } | { error: string }> {
  return new Promise((resolve) => {
    const child = spawn(seccompLogPath(), [], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let ready = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(0, 2000)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (ready) return onLine(line);
      if (line !== 'ready') return;
      ready = true;
      clearTimeout(timer);
      resolve({ child });
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ error: err.message });
    });
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      if (!ready) resolve({ error: stderr.trim().replace(/^ferry-seccomp-log: /, '') || `exit ${code ?? sig}` });
    });
    // The server's shutdown does not wait for it; it dies with the server (PDEATHSIG).
    child.unref();
    (child.stdout as Socket).unref();
    (child.stderr as Socket).unref();
  });
}

/** The one reader of the kernel's seccomp records per server, and the instances it reports to. */
export class SeccompLog {
  private child: ChildProcess | undefined;
  private readonly byId = new Map<string, InstanceRefusals>();
  private readonly byPid = new Map<number, InstanceRefusals>();
  /** Records no instance claimed yet: bwrap may report the runtime's pid after its first record. */
  private unclaimed: Array<{ at: number; r: Refusal }> = [];
  private closed = false;
  private retry: NodeJS.Timeout | undefined;

  /** @param unavailable why refusals are not named on this host (undefined: they are). */
  private constructor(readonly unavailable: string | undefined) {}

  /** Follows the kernel's records when this host allows it; else says why in `unavailable`. */
  static async start(): Promise<SeccompLog> {
    const check = await checkSeccompLog();
    if (!check.ok) return new SeccompLog(`${check.detail}; ${check.fix}`);
    const log = new SeccompLog(undefined);
    const r = await follow((line) => log.dispatch(line));
    if ('error' in r) return new SeccompLog(`the audit record reader did not start: ${r.error}`);
    log.keep(r.child, 0);
    return log;
  }

  /** The refusals of an instance from now on, until it is closed. */
  watch(instanceId: string, runtimePid: Promise<number | undefined>): InstanceRefusals {
    const inst: InstanceRefusals = new InstanceRefusals(() => {
      if (this.byId.get(instanceId) === inst) this.byId.delete(instanceId);
      if (inst.runtimePid !== undefined && this.byPid.get(inst.runtimePid) === inst) this.byPid.delete(inst.runtimePid);
    });
    this.byId.set(instanceId, inst);
    void runtimePid.then((pid) => {
      if (pid === undefined || this.byId.get(instanceId) !== inst) return;
      inst.runtimePid = pid;
      this.byPid.set(pid, inst);
      const mine = this.unclaimed.filter((u) => u.r.pid === pid);
      this.unclaimed = this.unclaimed.filter((u) => u.r.pid !== pid);
      for (const u of mine) inst.add(u.r);
    });
    return inst;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.child?.kill('SIGKILL');
  }

  private dispatch(line: string): void {
    const r = parseRefusal(line);
    if (!r) return;
    // The cgroup first (its directory is named by the instance id, cgroups.ts): it is where the
    // process is now, while a remembered pid may have been reused. The pid serves once it is gone.
    const inst = r.cgroups.map((c) => this.byId.get(c.slice(c.lastIndexOf('/') + 1))).find((i) => i !== undefined) ?? this.byPid.get(r.pid);
    if (inst) return inst.add(r);
    // Most are other programs of the host; a few seconds and a few hundred are plenty.
    const now = Date.now();
    this.unclaimed = this.unclaimed.filter((u) => now - u.at < 3000).slice(-255);
    this.unclaimed.push({ at: now, r });
  }

  /** Restarts the reader when it dies, backing off up to 30 s while it keeps failing. */
  private keep(child: ChildProcess, failures: number): void {
    this.child = child;
    const started = Date.now();
    child.once('exit', () => this.restart(Date.now() - started > 60_000 ? 0 : failures + 1));
  }

  private restart(failures: number): void {
    if (this.closed) return;
    this.retry = setTimeout(() => {
      void follow((line) => this.dispatch(line)).then((r) => {
        if ('error' in r) this.restart(failures + 1);
        else if (this.closed) r.child.kill('SIGKILL');
        else this.keep(r.child, failures);
      });
    }, Math.min(30_000, 1000 * 2 ** Math.min(failures, 5)));
    this.retry.unref();
  }
}
