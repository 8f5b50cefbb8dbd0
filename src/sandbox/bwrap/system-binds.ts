import { existsSync, lstatSync, readlinkSync } from 'node:fs';

/**
 * What of the host every sandbox sees, read-only: the system's programs and libraries (/usr and
 * the merged-/usr links), and the few /etc files name resolution and TLS need. Nothing else of
 * the host exists inside: not /home, /root, /var, /srv, the data dir, or other /etc files.
 */
export interface SystemBind {
  kind: 'ro-bind' | 'symlink';
  source: string;
  dest: string;
}

const etcFiles = ['/etc/resolv.conf', '/etc/hosts', '/etc/nsswitch.conf', '/etc/host.conf', '/etc/localtime', '/etc/ssl', '/etc/ca-certificates', '/etc/mime.types'];

let cached: SystemBind[] | undefined;

/** The base binds for this host, computed once. */
export function systemBinds(): SystemBind[] {
  if (cached) return cached;
  const out: SystemBind[] = [{ kind: 'ro-bind', source: '/usr', dest: '/usr' }];
  // Debian's merged /usr: /bin -> usr/bin and friends are links; elsewhere they are directories.
  for (const top of ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']) {
    if (!existsSync(top)) continue;
    const st = lstatSync(top);
    if (st.isSymbolicLink()) out.push({ kind: 'symlink', source: readlinkSync(top), dest: top });
    else out.push({ kind: 'ro-bind', source: top, dest: top });
  }
  for (const f of etcFiles) if (existsSync(f)) out.push({ kind: 'ro-bind', source: f, dest: f });
  cached = out;
  return out;
}

/** Whether `path` is already visible through the system binds (no extra bind needed). */
export function coveredBySystem(path: string): boolean {
  return systemBinds().some((b) => b.kind === 'ro-bind' && (path === b.dest || path.startsWith(`${b.dest}/`)));
}

/**
 * bwrap arguments for a small sandbox that needs only the host's programs (a probe, a test):
 * the system binds, plus each of `extra` (host paths) at its own place, read-only. Never the
 * host's whole root: bwrap remounts every mount under a bound tree read-only one by one, and a
 * mount that goes meanwhile (an instance's run dir, a pool slot) fails the sandbox's start.
 */
export function systemBindArgs(extra: readonly string[] = []): string[] {
  const args: string[] = [];
  for (const b of systemBinds()) args.push(b.kind === 'symlink' ? '--symlink' : '--ro-bind', b.source, b.dest);
  for (const p of extra) if (!coveredBySystem(p)) args.push('--ro-bind', p, p);
  return args;
}
