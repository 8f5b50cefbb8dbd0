import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * /etc/passwd and /etc/group for the sandbox: one user and group, `ferry`, uid/gid 1000 inside
 * (what bwrap maps the instance's host uid to), home /tmp. Programs that look themselves up
 * (Python's getpass, `id`, many CLIs) work; the host's user list stays out of sight.
 */
export function writeEtcFiles(dir: string): { passwd: string; group: string } {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const passwd = join(dir, 'passwd');
  const group = join(dir, 'group');
  atomicWrite(passwd, 'root:x:0:0:root:/tmp:/usr/sbin/nologin\nferry:x:1000:1000:ferry:/tmp:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n');
  atomicWrite(group, 'root:x:0:\nferry:x:1000:\nnogroup:x:65534:\n');
  return { passwd, group };
}

function atomicWrite(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, path);
}
