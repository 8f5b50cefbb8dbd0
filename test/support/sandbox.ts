import { spawnSync } from 'node:child_process';
import { existsSync, accessSync, constants } from 'node:fs';
import { systemBindArgs } from '../../src/sandbox/bwrap/system-binds.js';

/**
 * Whether the bwrap sandbox can run here. Outside CI a missing piece skips the sandbox suites
 * with the reason; in CI (`CI=true`) or with FERRY_SANDBOX_MUST_WORK=1 it fails them loudly.
 */
export async function sandboxSupport(): Promise<{ ok: true } | { ok: false; why: string }> {
  const why = check();
  if (why === undefined) return { ok: true };
  if (process.env.CI === 'true' || process.env.FERRY_SANDBOX_MUST_WORK === '1') {
    throw new Error(`the sandbox must work here (CI or FERRY_SANDBOX_MUST_WORK=1) but: ${why}`);
  }
  return { ok: false, why };
}

function check(): string | undefined {
  const bwrap = spawnSync('bwrap', ['--unshare-user', '--unshare-pid', ...systemBindArgs(), 'true']);
  if (bwrap.error) return 'bwrap is not installed (apt-get install -y bubblewrap)';
  if (bwrap.status !== 0) return `bwrap cannot create namespaces: ${bwrap.stderr.toString().trim()}`;
  for (const c of ['memory', 'pids', 'cpu']) {
    const dir = `/sys/fs/cgroup/${c}`;
    const v2 = '/sys/fs/cgroup/cgroup.controllers';
    if (existsSync(dir)) {
      try {
        accessSync(dir, constants.W_OK);
        continue;
      } catch {
        return `the ${c} cgroup is not writable`;
      }
    }
    if (!existsSync(v2)) return `no ${c} cgroup controller`;
  }
  return undefined;
}
