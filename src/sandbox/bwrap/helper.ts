import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FerryError } from '../../errors/index.js';
import type { SocketFamily } from './seccomp-defaults.js';

/**
 * The native sandbox helper (`native/ferry-sandbox-helper.c`, built by
 * `scripts/build-native.mjs`): compiles seccomp filters with libseccomp and starts a sandbox's
 * first process inside its cgroups, with rlimits, a dropped uid and no_new_privs.
 */

/** Where the helper is: `FERRY_SANDBOX_HELPER`, else `dist/native/` next to the compiled code. */
export function helperPath(): string {
  const override = process.env['FERRY_SANDBOX_HELPER'];
  if (override) return override;
  // This module runs as dist/src/sandbox/bwrap/helper.js; the binary is dist/native/.
  return fileURLToPath(new URL('../../../native/ferry-sandbox-helper', import.meta.url));
}

/**
 * How to build the helper on this host: what it needs, and the build script by its own path
 * (an installed Ferry, `npm i -g`, has no source tree to `npm run build` in).
 */
export function helperBuildFix(): string {
  return `apt-get install -y gcc libseccomp-dev && node ${fileURLToPath(new URL('../../../../scripts/build-native.mjs', import.meta.url))}`;
}

/** The reader of the kernel's seccomp audit records (`native/ferry-seccomp-log.c`), beside the helper. */
export function seccompLogPath(): string {
  return join(dirname(helperPath()), 'ferry-seccomp-log');
}

/** Whether the helper binary exists and is executable (not whether it works). */
export function helperAvailable(): boolean {
  try {
    accessSync(helperPath(), constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** What one helper run produced. */
export interface HelperResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

function unavailable(cause?: unknown): FerryError {
  return new FerryError('internal', `the sandbox helper ${helperPath()} is missing or cannot run; build it with \`node scripts/build-native.mjs\` (needs gcc and libseccomp-dev)`, { cause });
}

/** Runs the helper with `args` and collects its output; rejects only when it cannot start. */
export function runHelper(args: readonly string[], timeoutMs = 10_000): Promise<HelperResult> {
  return runProgram(helperPath(), args, timeoutMs);
}

/** Runs one of the native programs and collects its output; rejects only when it cannot start. */
export function runProgram(path: string, args: readonly string[], timeoutMs = 10_000): Promise<HelperResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    child.once('error', (e) => reject(unavailable(e)));
    child.once('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out), stderr: err.trim() }));
  });
}

/** A seccomp filter as the helper builds it. Names must be known to libseccomp. */
export interface SeccompCompileRequest {
  /** allow = deny mode (the listed names are refused); errno/kill = allow mode. */
  defaultAction: 'allow' | 'errno' | 'kill';
  /** What a denied name does in deny mode. */
  denyAction: 'errno' | 'kill';
  deny: readonly string[];
  allow: readonly string[];
  /** Refuse namespace-creating clone() flags and answer clone3() with ENOSYS (see the C source). */
  noNewNamespaces: boolean;
  /** Answered with ENOSYS whatever the mode; none may be in `deny` or `allow`. */
  enosys: readonly string[];
  /**
   * The only families socket() and socketpair() may use (others: EAFNOSUPPORT); deny mode only,
   * with neither call in `deny`. null: no family rules. An empty list is refused, not "any".
   */
  socketFamilies: { socket: readonly SocketFamily[]; socketpair: readonly number[] } | null;
}

/** Compiles a filter to raw BPF (what `bwrap --seccomp FD` reads). */
export async function compileSeccompBpf(req: SeccompCompileRequest): Promise<Buffer> {
  const args = ['seccomp-compile', '--default-action', req.defaultAction, '--deny-action', req.denyAction];
  if (req.noNewNamespaces) args.push('--no-new-namespaces');
  for (const n of req.deny) args.push('--deny', n);
  for (const n of req.allow) args.push('--allow', n);
  for (const n of req.enosys) args.push('--enosys', n);
  if (req.socketFamilies) {
    // The helper restricts a call only when given families for it: an empty list would mean "any".
    if (req.socketFamilies.socket.length === 0 || req.socketFamilies.socketpair.length === 0) throw new TypeError('socketFamilies needs at least one family for each call');
    for (const f of req.socketFamilies.socket) args.push('--socket-family', f.protocol === undefined ? `${f.domain}` : `${f.domain}:${f.protocol}`);
    for (const d of req.socketFamilies.socketpair) args.push('--socketpair-family', `${d}`);
  }
  const r = await runHelper(args);
  // A BPF program is a whole number of 8-byte instructions; anything else is not a filter.
  if (r.code !== 0 || r.stdout.length === 0 || r.stdout.length % 8 !== 0) {
    throw new FerryError('internal', `compiling the seccomp filter failed: ${r.stderr || `exit ${r.code ?? r.signal}`}`);
  }
  return r.stdout;
}

// Syscall numbers never change while the process runs; keyed by helper path in case it changes.
const resolved = new Map<string, Map<string, number | null>>();

/**
 * Resolves syscall names with libseccomp for the native arch: a number (negative for a name
 * libseccomp knows but this arch lacks, e.g. vm86 on x86_64) or null when libseccomp does not
 * know the name at all.
 */
export async function resolveSyscalls(names: readonly string[]): Promise<Map<string, number | null>> {
  const path = helperPath();
  let known = resolved.get(path);
  if (!known) resolved.set(path, (known = new Map()));
  // Only names that look like syscalls reach argv: no option-like or odd strings.
  const ask = [...new Set(names)].filter((n) => !known.has(n) && /^[a-z_][a-z0-9_]{0,63}$/.test(n));
  if (ask.length > 0) {
    const r = await runHelper(['resolve', ...ask]);
    if (r.code !== 0) throw new FerryError('internal', `resolving syscall names failed: ${r.stderr || `exit ${r.code ?? r.signal}`}`);
    for (const line of r.stdout.toString('utf8').split('\n')) {
      const [name, nr] = line.split('\t');
      if (name && nr) known.set(name, nr === 'unknown' ? null : Number(nr));
    }
  }
  return new Map(names.map((n) => [n, known.get(n) ?? null]));
}

/** The libseccomp version the helper is linked against, and the native arch. */
export async function helperVersion(): Promise<{ libseccomp: string; arch: string }> {
  const r = await runHelper(['version']);
  const m = /^libseccomp (\S+)\t(\S+)/.exec(r.stdout.toString('utf8'));
  if (r.code !== 0 || !m) throw new FerryError('internal', `the sandbox helper did not report its version: ${r.stderr}`);
  return { libseccomp: m[1]!, arch: m[2]! };
}

/** Resource limits the helper applies (soft = hard) before it execs. */
export type HelperRlimit = 'as' | 'nproc' | 'nofile' | 'cpu' | 'fsize' | 'core';

/** How the helper's `exec` prepares the process before it runs the program. */
export interface HelperExecOptions {
  /** Cgroup directories the process joins first (from `InstanceCgroup.dirs`). */
  cgroups?: readonly string[];
  rlimits?: Partial<Record<HelperRlimit, number>>;
  /** Drop to this uid/gid (supplementary groups cleared); both or neither. */
  uid?: number;
  gid?: number;
}

/**
 * argv that runs `argv` through the helper's `exec`: cgroups joined, rlimits set, privileges
 * dropped, no_new_privs, then exec. Inherited fds stay open. The helper exits 127 with a
 * message on stderr when any step fails; it never runs the program with weaker settings.
 */
export function helperExecArgv(opts: HelperExecOptions, argv: readonly string[]): string[] {
  const out = [helperPath(), 'exec'];
  for (const dir of opts.cgroups ?? []) out.push('--cgroup', dir);
  for (const [name, value] of Object.entries(opts.rlimits ?? {})) {
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 0) throw new TypeError(`rlimit ${name} must be a non-negative integer`);
    out.push('--rlimit', `${name}=${value}`);
  }
  if ((opts.uid === undefined) !== (opts.gid === undefined)) throw new TypeError('uid and gid go together');
  if (opts.uid !== undefined) out.push('--uid', String(opts.uid), '--gid', String(opts.gid));
  if (argv.length === 0) throw new TypeError('helperExecArgv needs a program');
  out.push('--', ...argv);
  return out;
}
