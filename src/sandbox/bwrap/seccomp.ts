import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SeccompPolicy } from '../../core/index.js';
import { FerryError } from '../../errors/index.js';
import { compileSeccompBpf, helperVersion, resolveSyscalls, type SeccompCompileRequest } from './helper.js';
import { defaultDenyList, enosysSyscalls, runtimeBaseline, socketFamilies, socketpairFamilies } from './seccomp-defaults.js';

/**
 * Seccomp policies -> cached BPF files. The default deny list always applies: in deny mode the
 * function's names are refused on top of it; in allow mode the function's names plus the runtime
 * baseline are allowed, minus the default deny list, so an allow list can only narrow what is
 * permitted.
 *
 * A policy becomes two filters, stacked in the instance: the kernel logs the refusals of the
 * `logged` one (see seccomp-log.ts), not those of the `quiet` one. glibc tries clone3 for every
 * new thread and falls back to clone on its ENOSYS; logged, that answer would write a kernel log
 * line per thread. Where both filters refuse a call with the same action, the kernel counts the
 * newer (logged) one.
 *
 * The answers no policy may change live in the quiet filter: io_uring's ENOSYS and the socket
 * families' EAFNOSUPPORT. The kernel takes the strictest action of the two filters (kill over
 * errno over allow) and, between two errnos, the logged one's; so the logged filter lets the
 * io_uring calls through in every mode, or a function's `kill` or a listed name would override
 * ENOSYS. socket and socketpair are in the runtime baseline, and the family rules refuse only
 * on top of what the lists allow.
 */

/**
 * Refuses syscall names libseccomp does not know (typos, other OSes' names) with
 * `invalid-manifest` naming every one, so an upload fails instead of its first instance.
 */
export async function validateSyscallNames(names: readonly string[]): Promise<void> {
  const resolved = await resolveSyscalls(names);
  const unknown = [...new Set(names.filter((n) => resolved.get(n) === null))];
  if (unknown.length > 0) {
    throw new FerryError('invalid-manifest', `seccomp.syscalls: unknown syscall name${unknown.length > 1 ? 's' : ''} on this host: ${unknown.join(', ')}`, {
      extras: { syscalls: unknown },
    });
  }
}

/** A policy made concrete: exactly what goes into the filters, and what was dropped. */
export interface SeccompPlan {
  /** The lists: the default deny list and the function's names (or the baseline in allow mode). */
  request: SeccompCompileRequest;
  /**
   * The rules no policy changes: clone's namespace flags refused, clone3 and io_uring answered
   * with ENOSYS, socket families outside the allowed ones with EAFNOSUPPORT.
   */
  quiet: SeccompCompileRequest;
  /** Names of the default list or baseline that libseccomp here does not know (skipped). */
  skipped: string[];
}

/** The BPF files of one policy. */
export interface SeccompFilters {
  /** Loaded by bwrap (`--seccomp FD`); its refusals are not logged. */
  quiet: string;
  /** Loaded by the helper's `seccomp-exec` inside the sandbox, with SECCOMP_FILTER_FLAG_LOG. */
  logged: string;
}

/** The policy in one canonical form: same meaning, same key. */
function normalise(policy: SeccompPolicy | undefined): Required<SeccompPolicy> {
  return {
    mode: policy?.mode ?? 'deny',
    action: policy?.action ?? 'errno',
    syscalls: [...new Set(policy?.syscalls ?? [])].sort(),
  };
}

const sorted = (s: Iterable<string>): string[] => [...new Set(s)].sort();

/** Caches compiled filters as `<cacheDir>/<sha256>.bpf` and compiles each policy at most once. */
export class SeccompCompiler {
  private readonly memo = new Map<string, Promise<SeccompFilters>>();

  /**
   * @param cacheDir where BPF files live, normally `<dataDir>/cache/seccomp`.
   * @param debug receives notes worth a debug log line (e.g. default names skipped).
   */
  constructor(
    private readonly cacheDir: string,
    private readonly debug: (msg: string) => void = () => {},
  ) {}

  /**
   * The BPF files for `policy` (undefined = the default deny list, EPERM). Unknown syscall names
   * of the policy reject with `invalid-manifest`. Concurrent callers with the same policy share
   * one compilation; a failed one is retried by the next caller.
   */
  compile(policy: SeccompPolicy | undefined): Promise<SeccompFilters> {
    const norm = normalise(policy);
    const key = JSON.stringify(norm);
    let p = this.memo.get(key);
    if (!p) {
      p = this.build(norm);
      this.memo.set(key, p);
      p.catch(() => this.memo.delete(key));
    }
    return p;
  }

  /** What `policy` compiles to on this host, without compiling. */
  async plan(policy: SeccompPolicy | undefined): Promise<SeccompPlan> {
    const norm = normalise(policy);
    await validateSyscallNames(norm.syscalls);
    const ours = [...defaultDenyList, ...enosysSyscalls, ...runtimeBaseline];
    const resolved = await resolveSyscalls(ours);
    const skipped = ours.filter((n) => resolved.get(n) === null);
    const known = (names: readonly string[]): string[] => names.filter((n) => resolved.get(n) !== null);
    const denied = new Set(known(defaultDenyList));
    const enosys = known(enosysSyscalls);
    // In allow mode the lists allow clone and clone3 (both in the baseline): the quiet filter
    // refuses clone's namespace flags and answers clone3, whatever the lists say. The io_uring
    // calls pass the lists in both modes, so that only the quiet filter's ENOSYS answers them.
    const request: SeccompCompileRequest =
      norm.mode === 'deny'
        ? {
            defaultAction: 'allow',
            denyAction: norm.action,
            deny: sorted([...denied, ...norm.syscalls].filter((n) => !enosys.includes(n))),
            allow: [],
            noNewNamespaces: false,
            enosys: [],
            socketFamilies: null,
          }
        : {
            defaultAction: norm.action,
            denyAction: norm.action,
            deny: [],
            allow: sorted([...known(runtimeBaseline), ...norm.syscalls, ...enosys].filter((n) => !denied.has(n))),
            noNewNamespaces: false,
            enosys: [],
            socketFamilies: null,
          };
    const quiet: SeccompCompileRequest = {
      defaultAction: 'allow',
      denyAction: norm.action,
      deny: [],
      allow: [],
      noNewNamespaces: true,
      enosys,
      socketFamilies: { socket: socketFamilies, socketpair: socketpairFamilies },
    };
    return { request, quiet, skipped: sorted(skipped) };
  }

  private async build(norm: Required<SeccompPolicy>): Promise<SeccompFilters> {
    const { request, quiet, skipped } = await this.plan(norm);
    if (skipped.length > 0) this.debug(`seccomp: libseccomp here does not know ${skipped.join(', ')}; left out of the filter`);
    const [q, logged] = await Promise.all([this.file(quiet), this.file(request)]);
    return { quiet: q, logged };
  }

  private async file(request: SeccompCompileRequest): Promise<string> {
    // The key covers what the filter is made of, not just the policy: a new default list,
    // baseline or libseccomp gives a new file rather than a stale cached one.
    const version = await helperVersion();
    const hash = createHash('sha256').update(JSON.stringify({ format: 1, version, request })).digest('hex');
    const file = join(this.cacheDir, `${hash}.bpf`);
    const existing = await stat(file).catch(() => undefined);
    if (existing && existing.size > 0 && existing.size % 8 === 0) return file;
    const bpf = await compileSeccompBpf(request);
    await mkdir(this.cacheDir, { recursive: true });
    // Written beside and renamed: a reader sees the whole filter or none (other processes too).
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, bpf, { mode: 0o644 });
      await chmod(tmp, 0o644); // the umask may have narrowed it; the file may be opened after dropping root
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return file;
  }
}
